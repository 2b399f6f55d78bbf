import LoomCore

/// Keys and values of past positions for one attention layer, preallocated to a
/// capacity so each generated token writes one slice instead of re-concatenating.
public final class KVCache {
  public private(set) var keys: Tensor
  public private(set) var values: Tensor
  public private(set) var length = 0
  public let capacity: Int

  /// Buffers for [batch, heads, capacity, headDim].
  public init(batch: Int, heads: Int, capacity: Int, headDim: Int, dtype: DType = .float32) {
    keys = Tensor.zeros([batch, heads, capacity, headDim], dtype: dtype)
    values = Tensor.zeros([batch, heads, capacity, headDim], dtype: dtype)
    self.capacity = capacity
  }

  /// Appends new keys and values [B, H, T, D]; returns all of them so far (views).
  public func append(keys k: Tensor, values v: Tensor) -> (Tensor, Tensor) {
    let t = k.shape[2]
    precondition(length + t <= capacity, "Loom: KV cache overflow: \(length) + \(t) positions exceed the capacity \(capacity) (n_positions)")
    noGrad {
      keys.slice(dim: 2, start: length, end: length + t).copyIn(k)
      values.slice(dim: 2, start: length, end: length + t).copyIn(v)
    }
    length += t
    return (keys.slice(dim: 2, start: 0, end: length), values.slice(dim: 2, start: 0, end: length))
  }

  /// Keeps only the rows at `indices` along the batch dimension (beam search reorders beams).
  public func reorder(_ indices: Tensor) {
    keys = keys.indexSelect(dim: 0, index: indices).contiguous()
    values = values.indexSelect(dim: 0, index: indices).contiguous()
  }
}

/// A language model generation can drive: logits for new tokens given a cache.
public protocol CausalLanguageModel: AnyObject {
  var vocabularySize: Int { get }
  var maxPositions: Int { get }
  /// Fresh per-layer caches for a batch.
  func makeCaches(batch: Int, capacity: Int) -> [KVCache]
  /// Logits [B, T, V] for `ids` [B, T] following the cached positions.
  /// `attentionMask` [B, past + T] (1 = real token) handles left padding.
  func logits(ids: Tensor, attentionMask: Tensor?, caches: [KVCache]?) -> Tensor
}
