import Foundation
import LoomCore
import LoomNN

/// diffusers' `get_timestep_embedding`: sinusoids of timesteps [N] at `dim / 2` log-spaced
/// frequencies (max period 10 000), [sin, cos] or [cos, sin] when `flipSinToCos`.
public func timestepEmbedding(_ timesteps: Tensor, dim: Int, flipSinToCos: Bool, freqShift: Double) -> Tensor {
  let half = dim / 2
  let exponent = (0..<half).map { Float(-Foundation.log(10000.0)) * Float($0) / Float(Double(half) - freqShift) }
  let freqs = Tensor(exponent, shape: [1, half], device: timesteps.device).exp()
  let args = timesteps.to(.float32).reshape([-1, 1]) * freqs
  var emb = flipSinToCos ? Tensor.cat([args.cos(), args.sin()], dim: 1) : Tensor.cat([args.sin(), args.cos()], dim: 1)
  if dim % 2 == 1 { emb = Tensor.cat([emb, Tensor.zeros([emb.shape[0], 1], device: emb.device)], dim: 1) }
  return emb
}

/// diffusers' `TimestepEmbedding`: linear_1 · SiLU · linear_2.
public final class TimestepEmbedding: Module {
  @Child public var linear1: Linear
  @Child public var linear2: Linear
  override public var keyOverrides: [String: String] { ["linear1": "linear_1", "linear2": "linear_2"] }

  public init(_ inChannels: Int, _ dim: Int, generator: Generator) {
    linear1 = Linear(inChannels, dim, generator: generator)
    linear2 = Linear(dim, dim, generator: generator)
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor { linear2(linear1(x).silu()) }
}

/// diffusers' `ResnetBlock2D` (default time-embedding norm): GroupNorm·SiLU·conv1, + projected
/// time embedding, GroupNorm·SiLU·conv2, plus the input (through a 1×1 conv when channels change).
public final class ResnetBlock2D: Module {
  @Child public var norm1: GroupNorm
  @Child public var conv1: Conv2d
  @Child public var timeEmbProj: Linear
  @Child public var norm2: GroupNorm
  @Child public var conv2: Conv2d
  @Child public var convShortcut: Conv2d?
  override public var keyOverrides: [String: String] {
    ["timeEmbProj": "time_emb_proj", "convShortcut": "conv_shortcut"]
  }

  public init(_ inChannels: Int, _ outChannels: Int, tembChannels: Int, groups: Int, eps: Double, generator: Generator)
  {
    norm1 = GroupNorm(groups: groups, channels: inChannels, eps: eps)
    conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, generator: generator)
    timeEmbProj = Linear(tembChannels, outChannels, generator: generator)
    norm2 = GroupNorm(groups: groups, channels: outChannels, eps: eps)
    conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, generator: generator)
    convShortcut =
      inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernelSize: 1, generator: generator)
    super.init()
  }

  public func callAsFunction(_ x: Tensor, temb: Tensor) -> Tensor {
    var h = conv1(norm1(x).silu())
    let t = timeEmbProj(temb.silu())
    h = h + t.reshape([t.shape[0], t.shape[1], 1, 1])
    h = conv2(norm2(h).silu())
    return (convShortcut.map { $0(x) } ?? x) + h
  }
}

/// diffusers' spatial self-attention block (`Attention` with `_from_deprecated_attn_block`):
/// GroupNorm, multi-head attention over the H·W positions, output projection, residual.
public final class SpatialSelfAttention: Module {
  @Child public var groupNorm: GroupNorm
  @Child public var toQ: Linear
  @Child public var toK: Linear
  @Child public var toV: Linear
  @Child public var toOut: [Linear]
  public let heads: Int
  override public var keyOverrides: [String: String] {
    ["groupNorm": "group_norm", "toQ": "to_q", "toK": "to_k", "toV": "to_v", "toOut": "to_out"]
  }

  public init(_ channels: Int, headDim: Int, groups: Int, eps: Double, generator: Generator) {
    heads = max(channels / headDim, 1)
    groupNorm = GroupNorm(groups: groups, channels: channels, eps: eps)
    toQ = Linear(channels, channels, generator: generator)
    toK = Linear(channels, channels, generator: generator)
    toV = Linear(channels, channels, generator: generator)
    toOut = [Linear(channels, channels, generator: generator)]
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let seq = groupNorm(x).reshape([n, c, h * w]).transpose(1, 2)
    func split(_ t: Tensor) -> Tensor { t.reshape([n, h * w, heads, c / heads]).transpose(1, 2) }
    let a = scaledDotProductAttention(split(toQ(seq)), split(toK(seq)), split(toV(seq)))
    let out = toOut[0](a.transpose(1, 2).reshape([n, h * w, c]))
    return out.transpose(1, 2).reshape([n, c, h, w]) + x
  }
}

/// diffusers' `Downsample2D` with a conv: 3×3, stride 2, padding `downsample_padding`.
public final class Downsample2D: Module {
  @Child public var conv: Conv2d
  public init(_ channels: Int, padding: Int, generator: Generator) {
    conv = Conv2d(channels, channels, kernelSize: 3, stride: 2, padding: padding, generator: generator)
    super.init()
  }
  override public func forward(_ x: Tensor) -> Tensor { conv(x) }
}

/// diffusers' `Upsample2D` with a conv: nearest ×2 then 3×3.
public final class Upsample2D: Module {
  @Child public var conv: Conv2d
  let upsample = Upsample(scaleFactor: 2)
  public init(_ channels: Int, generator: Generator) {
    conv = Conv2d(channels, channels, kernelSize: 3, padding: 1, generator: generator)
    super.init()
  }
  override public func forward(_ x: Tensor) -> Tensor { conv(upsample(x)) }
}
