import Foundation
import LoomCore
import LoomNN

/// `BartScaledWordEmbedding`: an `Embedding` whose rows are multiplied by `embedScale`
/// (√d_model with scale_embedding) and whose `padding_idx` row gets no gradient from the
/// lookup, like torch's `nn.Embedding(padding_idx=)`.
public final class BartScaledWordEmbedding: Embedding {
  public let embedScale: Double
  public let paddingIdx: Int?

  init(_ count: Int, _ dimension: Int, paddingIdx: Int?, embedScale: Double) {
    self.embedScale = embedScale
    self.paddingIdx = paddingIdx
    super.init(count, dimension)
  }

  override public func forward(_ ids: Tensor) -> Tensor {
    var x = super.forward(ids)
    if let p = paddingIdx, GradMode.isEnabled, weight.requiresGrad {
      // x·keep + x̄·(1 − keep): the same values, no gradient into the padding row.
      let keep = Tensor(ids.int64s.map { $0 == Int64(p) ? Float(0) : 1 }, shape: ids.shape + [1])
        .to(x.dtype).to(device: x.device)
      x = x * keep + x.detach() * (1 - keep)
    }
    return embedScale == 1 ? x : x * embedScale
  }
}

/// `BartLearnedPositionalEmbedding`: max_position_embeddings + 2 rows, position p reads
/// row p + 2 (fairseq's offset for its padding positions).
public final class BartLearnedPositionalEmbedding: Embedding {
  public static let offset = 2

  init(_ maxPositions: Int, _ dimension: Int) { super.init(maxPositions + Self.offset, dimension) }

  /// [1, T, C] for positions past..<past + T.
  func callAsFunction(length: Int, past: Int) -> Tensor {
    let ids = Tensor((past..<(past + length)).map { Int64($0 + Self.offset) }, shape: [1, length])
    return forward(ids.to(device: weight.device))
  }
}

/// `BartAttention`: separate q/k/v/out projections (HF's names) run by the shared
/// `Functional.multiheadAttention`, which also keeps the decoder's KV caches: a
/// self-attention cache grows by one position per step, a cross-attention cache
/// projects the encoder outputs once.
public final class BartAttention: Module {
  @Child public var k_proj: Linear
  @Child public var v_proj: Linear
  @Child public var q_proj: Linear
  @Child public var out_proj: Linear
  let heads: Int
  let dropoutP: Double

  init(_ dim: Int, heads: Int, dropout: Double) {
    k_proj = Linear(dim, dim)
    v_proj = Linear(dim, dim)
    q_proj = Linear(dim, dim)
    out_proj = Linear(dim, dim)
    self.heads = heads
    dropoutP = dropout
    super.init()
  }

  /// `x` [B, T, C] attends to itself, or with `keyValue` [B, S, C] to that (cross-attention).
  /// `keyPaddingMask` [B, S]: true = ignore the key.
  func callAsFunction(
    _ x: Tensor, keyValue: Tensor? = nil, keyPaddingMask: Tensor? = nil, isCausal: Bool = false,
    cache: KVCache? = nil
  ) -> Tensor {
    let kv = keyValue ?? x
    // Plain Linears are read as weights (one fused path); a wrapped one (a LoRA adapter) is
    // called, so its extra terms run.
    let wrapped = [q_proj, k_proj, v_proj, out_proj].contains { type(of: $0) != Linear.self }
    let projections =
      wrapped
      ? AttentionProjections(
        query: { self.q_proj($0) }, key: { self.k_proj($0) }, value: { self.v_proj($0) },
        output: { self.out_proj($0) }) : nil
    let bias = wrapped ? nil : Tensor.cat([q_proj.bias!, k_proj.bias!, v_proj.bias!], dim: 0)
    return Functional.multiheadAttention(
      x, kv, kv, heads: heads, qProjWeight: q_proj.weight, kProjWeight: k_proj.weight,
      vProjWeight: v_proj.weight, inProjBias: bias, outProjWeight: out_proj.weight,
      outProjBias: out_proj.bias, keyPaddingMask: keyPaddingMask, isCausal: isCausal,
      dropout: dropoutP, training: training, cache: cache, projections: projections
    ).output
  }
}

/// The position-wise feed-forward of both layer kinds: fc1, activation, fc2 (with dropouts).
struct BartFeedForward {
  let activation: Activation
  let activationDropout: Double
  let dropoutP: Double

  func callAsFunction(_ x: Tensor, _ fc1: Linear, _ fc2: Linear, training: Bool) -> Tensor {
    let h = dropout(activation(fc1(x)), p: activationDropout, training: training)
    return dropout(fc2(h), p: dropoutP, training: training)
  }
}

/// `BartEncoderLayer` (post-LN): self-attention, add, norm; feed-forward, add, norm.
public final class BartEncoderLayer: Module {
  @Child public var self_attn: BartAttention
  @Child public var self_attn_layer_norm: LayerNorm
  @Child public var fc1: Linear
  @Child public var fc2: Linear
  @Child public var final_layer_norm: LayerNorm
  let ffn: BartFeedForward
  let dropoutP: Double

  init(_ config: BartConfig) {
    let c = config.dModel
    self_attn = BartAttention(
      c, heads: config.encoderAttentionHeads, dropout: config.attentionDropout)
    self_attn_layer_norm = LayerNorm(c)
    fc1 = Linear(c, config.encoderFfnDim)
    fc2 = Linear(config.encoderFfnDim, c)
    final_layer_norm = LayerNorm(c)
    ffn = BartFeedForward(
      activation: config.activationFunction, activationDropout: config.activationDropout,
      dropoutP: config.dropout)
    dropoutP = config.dropout
    super.init()
  }

  func callAsFunction(_ x: Tensor, keyPaddingMask: Tensor?) -> Tensor {
    let a = dropout(self_attn(x, keyPaddingMask: keyPaddingMask), p: dropoutP, training: training)
    let h = self_attn_layer_norm(x + a)
    return final_layer_norm(h + ffn(h, fc1, fc2, training: training))
  }
}

/// `BartDecoderLayer` (post-LN): causal self-attention, cross-attention over the encoder
/// outputs, feed-forward, each followed by add and norm.
public final class BartDecoderLayer: Module {
  @Child public var self_attn: BartAttention
  @Child public var self_attn_layer_norm: LayerNorm
  @Child public var encoder_attn: BartAttention
  @Child public var encoder_attn_layer_norm: LayerNorm
  @Child public var fc1: Linear
  @Child public var fc2: Linear
  @Child public var final_layer_norm: LayerNorm
  let ffn: BartFeedForward
  let dropoutP: Double

  init(_ config: BartConfig) {
    let c = config.dModel
    self_attn = BartAttention(
      c, heads: config.decoderAttentionHeads, dropout: config.attentionDropout)
    self_attn_layer_norm = LayerNorm(c)
    encoder_attn = BartAttention(
      c, heads: config.decoderAttentionHeads, dropout: config.attentionDropout)
    encoder_attn_layer_norm = LayerNorm(c)
    fc1 = Linear(c, config.decoderFfnDim)
    fc2 = Linear(config.decoderFfnDim, c)
    final_layer_norm = LayerNorm(c)
    ffn = BartFeedForward(
      activation: config.activationFunction, activationDropout: config.activationDropout,
      dropoutP: config.dropout)
    dropoutP = config.dropout
    super.init()
  }

  func callAsFunction(
    _ x: Tensor, selfPaddingMask: Tensor? = nil, encoder: Tensor, encoderPaddingMask: Tensor?,
    selfCache: KVCache?, crossCache: KVCache?
  ) -> Tensor {
    let a = dropout(
      self_attn(x, keyPaddingMask: selfPaddingMask, isCausal: true, cache: selfCache), p: dropoutP,
      training: training)
    var h = self_attn_layer_norm(x + a)
    let c = encoder_attn(
      h, keyValue: encoder, keyPaddingMask: encoderPaddingMask, cache: crossCache)
    h = encoder_attn_layer_norm(h + dropout(c, p: dropoutP, training: training))
    return final_layer_norm(h + ffn(h, fc1, fc2, training: training))
  }
}

/// HF's `_init_weights` for BART: Linear and Embedding weights N(0, init_std²), biases
/// zero, the padding row of word embeddings zero (LayerNorms keep ones and zeros).
enum BartInit {
  static func apply(_ root: Module, std: Double, paddingIdx: Int?) {
    noGrad {
      for (_, m) in root.namedModules() {
        if let l = m as? Linear {
          EncoderInit.normal(l.weight, std: std, generator: .global)
          l.bias?.fill(0)
        } else if let e = m as? Embedding {
          EncoderInit.normal(e.weight, std: std, generator: .global)
          if e is BartScaledWordEmbedding, let p = paddingIdx, p < e.weight.shape[0] {
            e.weight[p].fill(0)
          }
        }
      }
    }
  }
}
