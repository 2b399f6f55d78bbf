import LoomCore
import LoomNN

/// The feed-forward block both layer kinds share: linear2(dropout(activation(linear1(x)))),
/// then dropout (torch's `_ff_block`).
struct TransformerFeedForward {
  let activation: Activation
  let dropout: Double

  func callAsFunction(_ x: Tensor, _ linear1: Linear, _ linear2: Linear, training: Bool) -> Tensor {
    let h = LoomCore.dropout(activation(linear1(x)), p: dropout, training: training)
    return LoomCore.dropout(linear2(h), p: dropout, training: training)
  }
}

/// `torch.nn.TransformerEncoderLayer(batch_first=True)` with its parameter names:
/// `self_attn` (packed `in_proj_weight`), `linear1`, `linear2`, `norm1`, `norm2`.
/// Post-LN (x = norm1(x + SA(x)); x = norm2(x + FF(x))) unless `normFirst`
/// (x = x + SA(norm1(x)); x = x + FF(norm2(x))).
public final class TransformerEncoderLayer: Module {
  @Child public var self_attn: MultiheadAttention
  @Child public var linear1: Linear
  @Child public var linear2: Linear
  @Child public var norm1: LayerNorm
  @Child public var norm2: LayerNorm
  public let normFirst: Bool
  let ffn: TransformerFeedForward

  public init(
    dModel: Int, nhead: Int, dimFeedforward: Int = 2048, dropout: Double = 0.1,
    activation: Activation = .relu, layerNormEps: Double = 1e-5, normFirst: Bool = false
  ) throws {
    self_attn = try MultiheadAttention(embedDim: dModel, heads: nhead, dropout: dropout)
    linear1 = Linear(dModel, dimFeedforward)
    linear2 = Linear(dimFeedforward, dModel)
    norm1 = LayerNorm(dModel, eps: layerNormEps)
    norm2 = LayerNorm(dModel, eps: layerNormEps)
    self.normFirst = normFirst
    ffn = TransformerFeedForward(activation: activation, dropout: dropout)
    super.init()
  }

  /// Self-attention without masks (a labelled argument picks the full call, not the hooked forward).
  override public func forward(_ x: Tensor) -> Tensor { self(x, srcMask: nil) }

  /// `src` [B, S, E]; masks in torch's convention (true or −∞ = not attended).
  public func callAsFunction(
    _ src: Tensor, srcMask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil, isCausal: Bool = false
  ) -> Tensor {
    func sa(_ h: Tensor) -> Tensor {
      let a = self_attn(
        h, h, h, keyPaddingMask: srcKeyPaddingMask, attnMask: srcMask, isCausal: isCausal
      ).output
      return dropout(a, p: ffn.dropout, training: training)
    }
    if normFirst {
      let h = src + sa(norm1(src))
      return h + ffn(norm2(h), linear1, linear2, training: training)
    }
    let h = norm1(src + sa(src))
    return norm2(h + ffn(h, linear1, linear2, training: training))
  }
}

/// `torch.nn.TransformerDecoderLayer(batch_first=True)`: `self_attn` (causal),
/// `multihead_attn` over the encoder's memory, the feed-forward, `norm1`–`norm3`.
/// With caches it runs incrementally: `selfCache` grows by the new positions,
/// `crossCache` projects the memory once.
public final class TransformerDecoderLayer: Module {
  @Child public var self_attn: MultiheadAttention
  @Child public var multihead_attn: MultiheadAttention
  @Child public var linear1: Linear
  @Child public var linear2: Linear
  @Child public var norm1: LayerNorm
  @Child public var norm2: LayerNorm
  @Child public var norm3: LayerNorm
  public let normFirst: Bool
  let ffn: TransformerFeedForward

  public init(
    dModel: Int, nhead: Int, dimFeedforward: Int = 2048, dropout: Double = 0.1,
    activation: Activation = .relu, layerNormEps: Double = 1e-5, normFirst: Bool = false
  ) throws {
    self_attn = try MultiheadAttention(embedDim: dModel, heads: nhead, dropout: dropout)
    multihead_attn = try MultiheadAttention(embedDim: dModel, heads: nhead, dropout: dropout)
    linear1 = Linear(dModel, dimFeedforward)
    linear2 = Linear(dimFeedforward, dModel)
    norm1 = LayerNorm(dModel, eps: layerNormEps)
    norm2 = LayerNorm(dModel, eps: layerNormEps)
    norm3 = LayerNorm(dModel, eps: layerNormEps)
    self.normFirst = normFirst
    ffn = TransformerFeedForward(activation: activation, dropout: dropout)
    super.init()
  }

  /// `tgt` [B, T, E] attending to itself and to `memory` [B, S, E].
  public func callAsFunction(
    _ tgt: Tensor, memory: Tensor, tgtMask: Tensor? = nil, memoryMask: Tensor? = nil,
    tgtKeyPaddingMask: Tensor? = nil, memoryKeyPaddingMask: Tensor? = nil,
    tgtIsCausal: Bool = false, selfCache: KVCache? = nil, crossCache: KVCache? = nil
  ) -> Tensor {
    let p = ffn.dropout
    func sa(_ h: Tensor) -> Tensor {
      let a = self_attn(
        h, h, h, keyPaddingMask: tgtKeyPaddingMask, attnMask: tgtMask, isCausal: tgtIsCausal,
        cache: selfCache
      ).output
      return dropout(a, p: p, training: training)
    }
    func mha(_ h: Tensor) -> Tensor {
      let a = multihead_attn(
        h, memory, memory, keyPaddingMask: memoryKeyPaddingMask, attnMask: memoryMask,
        cache: crossCache
      ).output
      return dropout(a, p: p, training: training)
    }
    if normFirst {
      var h = tgt + sa(norm1(tgt))
      h = h + mha(norm2(h))
      return h + ffn(norm3(h), linear1, linear2, training: training)
    }
    var h = norm1(tgt + sa(tgt))
    h = norm2(h + mha(h))
    return norm3(h + ffn(h, linear1, linear2, training: training))
  }
}
