import LoomCore

/// Projected keys and values of past positions for one `MultiheadAttention` layer
/// during incremental decoding. Each call appends the new positions; the buffers are
/// allocated on first use and doubled when full, so a token costs one slice write.
/// For inference: gradients do not flow through cached keys and values.
public final class AttentionCache {
  private var keys: Tensor?
  private var values: Tensor?
  public private(set) var length = 0
  /// Positions the buffers hold before they grow.
  public private(set) var capacity: Int

  public init(capacity: Int = 64) {
    self.capacity = Swift.max(capacity, 1)
  }

  /// Forgets every position (the buffers are kept).
  public func reset() { length = 0 }

  /// Checks that keys/values [B, H, T, D] fit the ones already cached.
  public func validate(keys k: Tensor, values v: Tensor) throws {
    guard k.rank == 4, v.rank == 4, k.shape[0] == v.shape[0], k.shape[1] == v.shape[1],
      k.shape[2] == v.shape[2]
    else {
      throw LoomError(
        "AttentionCache: expected keys [B, H, T, D] and values [B, H, T, Dv], got \(k.shape) and \(v.shape)"
      )
    }
    guard let keys, let values, length > 0 else { return }
    let want = [keys.shape[0], keys.shape[1], keys.shape[3]]
    let got = [k.shape[0], k.shape[1], k.shape[3]]
    guard want == got, values.shape[3] == v.shape[3], keys.dtype == k.dtype else {
      throw LoomError(
        "AttentionCache: new keys \(k.shape) (\(k.dtype)) do not match the cached [\(want[0]), \(want[1]), \(length), \(want[2])] (\(keys.dtype))"
      )
    }
  }

  /// Appends keys and values [B, H, T, D]; returns every cached position (views).
  public func append(keys k: Tensor, values v: Tensor) -> (keys: Tensor, values: Tensor) {
    do { try validate(keys: k, values: v) } catch { fatalError("Loom: \(error)") }
    let t = k.shape[2]
    if keys == nil || length == 0 || length + t > capacity {
      while length + t > capacity { capacity *= 2 }
      let (b, h) = (k.shape[0], k.shape[1])
      let newKeys = Tensor.zeros([b, h, capacity, k.shape[3]], dtype: k.dtype, device: k.device)
      let newValues = Tensor.zeros([b, h, capacity, v.shape[3]], dtype: v.dtype, device: v.device)
      if let keys, let values, length > 0 {
        newKeys.slice(dim: 2, start: 0, end: length).copyIn(keys.slice(dim: 2, start: 0, end: length))
        newValues.slice(dim: 2, start: 0, end: length).copyIn(values.slice(dim: 2, start: 0, end: length))
      }
      (keys, values) = (newKeys, newValues)
    }
    let (kb, vb) = (keys!, values!)
    noGrad {
      kb.slice(dim: 2, start: length, end: length + t).copyIn(k)
      vb.slice(dim: 2, start: length, end: length + t).copyIn(v)
    }
    length += t
    return (kb.slice(dim: 2, start: 0, end: length), vb.slice(dim: 2, start: 0, end: length))
  }

  /// Keeps only the batch rows at `indices` (beam search reorders beams).
  public func reorder(_ indices: Tensor) {
    guard let keys, let values else { return }
    self.keys = keys.indexSelect(dim: 0, index: indices).contiguous()
    self.values = values.indexSelect(dim: 0, index: indices).contiguous()
  }
}
