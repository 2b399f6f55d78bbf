import LoomCore
import LoomNN

/// diffusers' `DownBlock2D` / `AttnDownBlock2D`: resnets (each followed by attention in the
/// Attn variant), then a strided-conv downsampler except at the last level. Returns every
/// intermediate output for the up path's skip connections.
public final class UNetDownBlock: Module {
  @Child public var resnets: [ResnetBlock2D]
  @Child public var attentions: [SpatialSelfAttention]
  @Child public var downsamplers: [Downsample2D]

  init(
    _ inChannels: Int, _ outChannels: Int, layers: Int, attention: Bool, downsample: Bool, config c: UNet2DConfig,
    generator: Generator
  ) {
    let temb = c.timeEmbedDim
    resnets = (0..<layers).map {
      ResnetBlock2D(
        $0 == 0 ? inChannels : outChannels, outChannels, tembChannels: temb, groups: c.normNumGroups, eps: c.normEps,
        generator: generator)
    }
    attentions =
      attention
      ? (0..<layers).map { _ in
        SpatialSelfAttention(
          outChannels, headDim: c.attentionHeadDim ?? outChannels, groups: c.normNumGroups, eps: c.normEps,
          generator: generator)
      } : []
    downsamplers = downsample ? [Downsample2D(outChannels, padding: c.downsamplePadding, generator: generator)] : []
    super.init()
  }

  func callAsFunction(_ x: Tensor, temb: Tensor) -> (Tensor, [Tensor]) {
    var h = x
    var outputs: [Tensor] = []
    for (i, resnet) in resnets.enumerated() {
      h = resnet(h, temb: temb)
      if !attentions.isEmpty { h = attentions[i](h) }
      outputs.append(h)
    }
    for d in downsamplers {
      h = d(h)
      outputs.append(h)
    }
    return (h, outputs)
  }
}

/// diffusers' `UpBlock2D` / `AttnUpBlock2D`: layers_per_block + 1 resnets, each on the
/// concatenation of the running sample and one skip output, then a nearest ×2 upsampler.
public final class UNetUpBlock: Module {
  @Child public var resnets: [ResnetBlock2D]
  @Child public var attentions: [SpatialSelfAttention]
  @Child public var upsamplers: [Upsample2D]

  init(
    _ inChannels: Int, _ prevOutputChannels: Int, _ outChannels: Int, layers: Int, attention: Bool, upsample: Bool,
    config c: UNet2DConfig, generator: Generator
  ) {
    resnets = (0..<layers).map { i in
      let skip = i == layers - 1 ? inChannels : outChannels
      let resIn = i == 0 ? prevOutputChannels : outChannels
      return ResnetBlock2D(
        resIn + skip, outChannels, tembChannels: c.timeEmbedDim, groups: c.normNumGroups, eps: c.normEps,
        generator: generator)
    }
    attentions =
      attention
      ? (0..<layers).map { _ in
        SpatialSelfAttention(
          outChannels, headDim: c.attentionHeadDim ?? outChannels, groups: c.normNumGroups, eps: c.normEps,
          generator: generator)
      } : []
    upsamplers = upsample ? [Upsample2D(outChannels, generator: generator)] : []
    super.init()
  }

  /// Pops its skips from the end of `skips`.
  func callAsFunction(_ x: Tensor, skips: inout [Tensor], temb: Tensor) -> Tensor {
    var h = x
    for (i, resnet) in resnets.enumerated() {
      h = resnet(Tensor.cat([h, skips.removeLast()], dim: 1), temb: temb)
      if !attentions.isEmpty { h = attentions[i](h) }
    }
    for u in upsamplers { h = u(h) }
    return h
  }
}

/// diffusers' `UNetMidBlock2D`: resnet, attention (if `add_attention`), resnet.
public final class UNetMidBlock2D: Module {
  @Child public var resnets: [ResnetBlock2D]
  @Child public var attentions: [SpatialSelfAttention]

  init(_ channels: Int, config c: UNet2DConfig, generator: Generator) {
    resnets = (0..<2).map { _ in
      ResnetBlock2D(
        channels, channels, tembChannels: c.timeEmbedDim, groups: c.normNumGroups, eps: c.normEps, generator: generator)
    }
    attentions =
      c.addAttention
      ? [
        SpatialSelfAttention(
          channels, headDim: c.attentionHeadDim ?? channels, groups: c.normNumGroups, eps: c.normEps,
          generator: generator)
      ] : []
    super.init()
  }

  func callAsFunction(_ x: Tensor, temb: Tensor) -> Tensor {
    var h = resnets[0](x, temb: temb)
    if let a = attentions.first { h = a(h) }
    return resnets[1](h, temb: temb)
  }
}
