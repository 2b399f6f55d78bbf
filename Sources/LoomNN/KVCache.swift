import LoomCore

/// Projected keys and values of past positions for one attention layer during
/// incremental decoding (HF's per-layer `past_key_values` entry). Buffers hold
/// [batch, heads, capacity, headDim]; each append writes one slice and returns views
/// of every cached position, so a generated token costs no re-concatenation. The
/// buffers are preallocated (`init(batch:heads:capacity:headDim:)`) or allocated on
/// the first append, and double when full. A cross-attention cache
/// (`isCrossAttention`) is filled once from the encoder outputs and then reused
/// as is. For inference: gradients do not flow through cached keys and values.
public final class KVCache {
  private var keyBuffer: Tensor?
  private var valueBuffer: Tensor?
  public private(set) var length = 0
  /// Positions the buffers hold before they grow.
  public private(set) var capacity: Int
  /// Keys and values computed once (from encoder outputs) and reused at every step.
  public let isCrossAttention: Bool

  /// A cache whose buffers are allocated on the first append, shaped like it.
  public init(capacity: Int = 64, isCrossAttention: Bool = false) {
    self.capacity = Swift.max(capacity, 1)
    self.isCrossAttention = isCrossAttention
  }

  /// A cache with buffers [batch, heads, capacity, headDim] allocated now.
  public init(
    batch: Int, heads: Int, capacity: Int, headDim: Int, dtype: DType = .float32, device: Device = .default
  ) {
    self.capacity = Swift.max(capacity, 1)
    isCrossAttention = false
    keyBuffer = Tensor.zeros([batch, heads, self.capacity, headDim], dtype: dtype, device: device)
    valueBuffer = Tensor.zeros([batch, heads, self.capacity, headDim], dtype: dtype, device: device)
  }

  /// Cached keys [B, H, length, D] (a view), nil before the first append.
  public var keys: Tensor? { length > 0 ? keyBuffer?.slice(dim: 2, start: 0, end: length) : nil }
  /// Cached values [B, H, length, Dv] (a view), nil before the first append.
  public var values: Tensor? {
    length > 0 ? valueBuffer?.slice(dim: 2, start: 0, end: length) : nil
  }

  /// Forgets every position (the buffers are kept).
  public func reset() { length = 0 }

  /// Checks that keys/values [B, H, T, D] fit the buffers.
  public func validate(keys k: Tensor, values v: Tensor) throws {
    guard k.rank == 4, v.rank == 4, k.shape[0] == v.shape[0], k.shape[1] == v.shape[1],
      k.shape[2] == v.shape[2]
    else {
      throw LoomError(
        "KVCache: expected keys [B, H, T, D] and values [B, H, T, Dv], got \(k.shape) and \(v.shape)"
      )
    }
    guard let keys = keyBuffer, let values = valueBuffer else { return }
    let want = [keys.shape[0], keys.shape[1], keys.shape[3]]
    let got = [k.shape[0], k.shape[1], k.shape[3]]
    guard want == got, values.shape[3] == v.shape[3], keys.dtype == k.dtype else {
      throw LoomError(
        "KVCache: new keys \(k.shape) (\(k.dtype)) do not match the cached [\(want[0]), \(want[1]), \(length), \(want[2])] (\(keys.dtype))"
      )
    }
  }

  /// Appends keys and values [B, H, T, D]; returns every cached position (views).
  public func append(keys k: Tensor, values v: Tensor) -> (keys: Tensor, values: Tensor) {
    if length == 0, let kb = keyBuffer,
      [kb.shape[0], kb.shape[1], kb.shape[3]] != [k.shape[0], k.shape[1], k.shape[3]]
        || kb.dtype != k.dtype
    {
      // An empty cache takes any batch or dtype (e.g. reused for another generation).
      (keyBuffer, valueBuffer) = (nil, nil)
    }
    do { try validate(keys: k, values: v) } catch { fatalError("Loom: \(error)") }
    let t = k.shape[2]
    if keyBuffer == nil || length + t > capacity {
      while length + t > capacity { capacity *= 2 }
      let (b, h) = (k.shape[0], k.shape[1])
      let newKeys = Tensor.zeros([b, h, capacity, k.shape[3]], dtype: k.dtype, device: k.device)
      let newValues = Tensor.zeros([b, h, capacity, v.shape[3]], dtype: v.dtype, device: v.device)
      if let keys, let values {
        noGrad {
          newKeys.slice(dim: 2, start: 0, end: length).copyIn(keys)
          newValues.slice(dim: 2, start: 0, end: length).copyIn(values)
        }
      }
      (keyBuffer, valueBuffer) = (newKeys, newValues)
    }
    let (kb, vb) = (keyBuffer!, valueBuffer!)
    noGrad {
      kb.slice(dim: 2, start: length, end: length + t).copyIn(k)
      vb.slice(dim: 2, start: length, end: length + t).copyIn(v)
    }
    length += t
    return (kb.slice(dim: 2, start: 0, end: length), vb.slice(dim: 2, start: 0, end: length))
  }

  /// Keeps the batch rows at `indices` (int64 [N], N may differ from the batch): beam
  /// search reorders beams, and expands a batch to batch × beams at the start.
  public func reorder(_ indices: Tensor) {
    guard let kb = keyBuffer, let vb = valueBuffer else { return }
    noGrad {
      keyBuffer = kb.indexSelect(dim: 0, index: indices).contiguous()
      valueBuffer = vb.indexSelect(dim: 0, index: indices).contiguous()
    }
  }
}
