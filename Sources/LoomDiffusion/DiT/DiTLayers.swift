import Foundation
import LoomCore
import LoomNN

/// diffusers' `get_2d_sincos_pos_embed` for a g×g grid (base size g, scale 1): row m = i·g + j holds
/// the 1-D sin-cos code of the column j in its first half and of the row i in its second, each
/// [sin(pos·ω), cos(pos·ω)] with ω_k = 10000^(−k / (D/4)); computed in double like diffusers.
public func sinCosPositions2D(dim: Int, grid g: Int) -> [Float] {
  let quarter = dim / 4
  let omega = (0..<quarter).map { 1 / Foundation.pow(10000, Double($0) / Double(quarter)) }
  var out = [Float](repeating: 0, count: g * g * dim)
  for i in 0..<g {
    for j in 0..<g {
      let row = (i * g + j) * dim
      for (half, pos) in [(0, Double(j)), (1, Double(i))] {
        for k in 0..<quarter {
          out[row + half * 2 * quarter + k] = Float(Foundation.sin(pos * omega[k]))
          out[row + half * 2 * quarter + quarter + k] = Float(Foundation.cos(pos * omega[k]))
        }
      }
    }
  }
  return out
}

/// diffusers' `PatchEmbed` (no norm): a p×p stride-p convolution to tokens [N, L, D] plus the fixed
/// 2-D sin-cos positions (a non-persistent buffer, as in diffusers).
public final class DiTPatchEmbed: Module {
  @Child public var proj: Conv2d
  @Buffer public var posEmbed: Tensor

  init(_ c: DiTConfig, generator: Generator) {
    let g = c.sampleSize / c.patchSize
    proj = Conv2d(
      c.inChannels, c.innerDim, kernelSize: (c.patchSize, c.patchSize), stride: (c.patchSize, c.patchSize),
      generator: generator)
    _posEmbed = Buffer(
      wrappedValue: Tensor(sinCosPositions2D(dim: c.innerDim, grid: g), shape: [1, g * g, c.innerDim]),
      persistent: false)
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    let h = proj(x)
    return h.reshape([h.shape[0], h.shape[1], -1]).transpose(1, 2) + posEmbed
  }
}

/// diffusers' `LabelEmbedding` with its classifier-free-guidance row: `num_classes + 1` rows, the last
/// the null label. Labels are dropped by the trainer (DiT's `token_drop`), not here.
public final class DiTLabelEmbedding: Module {
  @Child public var embeddingTable: Embedding
  override public var keyOverrides: [String: String] { ["embeddingTable": "embedding_table"] }
  init(_ classes: Int, _ dim: Int, generator: Generator) {
    embeddingTable = Embedding(classes + 1, dim, generator: generator)
    super.init()
  }
  override public func forward(_ labels: Tensor) -> Tensor { embeddingTable(labels) }
}

/// diffusers' `CombinedTimestepLabelEmbeddings`: MLP of 256 sinusoids (flip_sin_to_cos, shift 1) plus the
/// label embedding.
public final class DiTConditioning: Module {
  @Child public var timestepEmbedder: TimestepEmbedding
  @Child public var classEmbedder: DiTLabelEmbedding
  override public var keyOverrides: [String: String] {
    ["timestepEmbedder": "timestep_embedder", "classEmbedder": "class_embedder"]
  }
  init(_ classes: Int, _ dim: Int, generator: Generator) {
    timestepEmbedder = TimestepEmbedding(256, dim, generator: generator)
    classEmbedder = DiTLabelEmbedding(classes, dim, generator: generator)
    super.init()
  }
  func callAsFunction(timesteps: Tensor, labels: Tensor) -> Tensor {
    timestepEmbedder(timestepEmbedding(timesteps, dim: 256, flipSinToCos: true, freqShift: 1)) + classEmbedder(labels)
  }
}

/// diffusers' `AdaLayerNormZero`: its own conditioning, SiLU, one Linear to six modulations
/// (shift, scale, gate for attention and for the MLP).
public final class DiTAdaLayerNormZero: Module {
  @Child public var emb: DiTConditioning
  @Child public var linear: Linear
  init(_ classes: Int, _ dim: Int, generator: Generator) {
    emb = DiTConditioning(classes, dim, generator: generator)
    linear = Linear(dim, 6 * dim, generator: generator)
    super.init()
  }
}

/// diffusers' `Attention` as DiT uses it: self-attention with to_q / to_k / to_v / to_out.0.
public final class DiTAttention: Module {
  @Child public var toQ: Linear
  @Child public var toK: Linear
  @Child public var toV: Linear
  @Child public var toOut: Linear
  let heads: Int
  override public var keyOverrides: [String: String] {
    ["toQ": "to_q", "toK": "to_k", "toV": "to_v", "toOut": "to_out.0"]
  }
  init(_ c: DiTConfig, generator: Generator) {
    let d = c.innerDim
    heads = c.numAttentionHeads
    toQ = Linear(d, d, bias: c.attentionBias, generator: generator)
    toK = Linear(d, d, bias: c.attentionBias, generator: generator)
    toV = Linear(d, d, bias: c.attentionBias, generator: generator)
    toOut = Linear(d, d, generator: generator)
    super.init()
  }
  override public func forward(_ x: Tensor) -> Tensor {
    let (n, l, d) = (x.shape[0], x.shape[1], x.shape[2])
    func split(_ t: Tensor) -> Tensor { t.reshape([n, l, heads, d / heads]).transpose(1, 2) }
    let a = scaledDotProductAttention(split(toQ(x)), split(toK(x)), split(toV(x)))
    return toOut(a.transpose(1, 2).reshape([n, l, d]))
  }
}

/// diffusers' `FeedForward` with gelu-approximate: net.0.proj (D → 4D), tanh GELU, net.2 (4D → D).
public final class DiTFeedForward: Module {
  @Child public var proj: Linear
  @Child public var out: Linear
  override public var keyOverrides: [String: String] { ["proj": "net.0.proj", "out": "net.2"] }
  init(_ dim: Int, generator: Generator) {
    proj = Linear(dim, 4 * dim, generator: generator)
    out = Linear(4 * dim, dim, generator: generator)
    super.init()
  }
  override public func forward(_ x: Tensor) -> Tensor { out(proj(x).gelu(approximate: "tanh")) }
}

/// diffusers' `BasicTransformerBlock` with norm_type ada_norm_zero (DiT's adaLN-Zero block):
/// x + gate·attn(LN(x)·(1 + scale) + shift), then the same around the MLP.
public final class DiTBlock: Module {
  @Child public var norm1: DiTAdaLayerNormZero
  @Child public var attn1: DiTAttention
  @Child public var ff: DiTFeedForward
  let normEps: Double

  init(_ c: DiTConfig, generator: Generator) {
    norm1 = DiTAdaLayerNormZero(c.numEmbedsAdaNorm, c.innerDim, generator: generator)
    attn1 = DiTAttention(c, generator: generator)
    ff = DiTFeedForward(c.innerDim, generator: generator)
    normEps = c.normEps
    super.init()
  }

  func callAsFunction(_ x: Tensor, timesteps: Tensor, labels: Tensor) -> Tensor {
    let m = norm1.linear(norm1.emb(timesteps: timesteps, labels: labels).silu()).chunk(6, dim: 1).map {
      $0.unsqueeze(1)
    }
    let attnIn = layerNorm(x, weight: nil, bias: nil, eps: 1e-6) * (m[1] + 1) + m[0]
    let h = x + m[2] * attn1(attnIn)
    let ffIn = layerNorm(h, weight: nil, bias: nil, eps: normEps) * (m[4] + 1) + m[3]
    return h + m[5] * ff(ffIn)
  }
}
