import Foundation
import LoomCore
import LoomNN
import XCTest

/// The one KV cache (preallocated buffers, views, growth, beam reordering,
/// cross-attention reuse) and the generation state that holds a model's caches.
final class KVCacheTests: XCTestCase {
  /// [B, H, T, D] with value 1000·b + 100·h + 10·t + d (+ offset) to trace rows.
  func traced(_ b: Int, _ h: Int, _ t: Int, _ d: Int, offset: Double = 0) -> Tensor {
    var v: [Float] = []
    for i in 0..<b {
      for j in 0..<h {
        for k in 0..<t {
          for l in 0..<d {
            v.append(Float(1000 * i + 100 * j + 10 * k + l) + Float(offset))
          }
        }
      }
    }
    return Tensor(v, shape: [b, h, t, d])
  }

  func testPreallocatedAppendReturnsViewsAndGrows() {
    let cache = KVCache(batch: 2, heads: 1, capacity: 3, headDim: 2)
    XCTAssertNil(cache.keys)
    let k1 = traced(2, 1, 2, 2)
    let v1 = traced(2, 1, 2, 2, offset: 0.5)
    let (k, v) = cache.append(keys: k1, values: v1)
    XCTAssertEqual(k.shape, [2, 1, 2, 2])
    XCTAssertEqual(k.toArray(Float.self), k1.toArray(Float.self))
    XCTAssertEqual(v.toArray(Float.self), v1.toArray(Float.self))
    XCTAssertEqual(cache.capacity, 3)
    // Two more positions pass the capacity: the buffers double, old positions kept.
    let k2 = traced(2, 1, 2, 2, offset: 7)
    let v2 = traced(2, 1, 2, 2, offset: 7.5)
    let (kk, vv) = cache.append(keys: k2, values: v2)
    XCTAssertEqual(cache.length, 4)
    XCTAssertEqual(cache.capacity, 6)
    XCTAssertEqual(kk.toArray(Float.self), Tensor.cat([k1, k2], dim: 2).toArray(Float.self))
    XCTAssertEqual(vv.toArray(Float.self), Tensor.cat([v1, v2], dim: 2).toArray(Float.self))
    XCTAssertEqual(cache.keys?.toArray(Float.self), kk.toArray(Float.self))
  }

  func testReorderPicksAndRepeatsBatchRows() {
    let cache = KVCache(capacity: 4)
    let k = traced(3, 2, 2, 1)
    _ = cache.append(keys: k, values: k)
    cache.reorder(Tensor([Int64(2), 0, 0, 1]))
    XCTAssertEqual(cache.length, 2)
    let rows = cache.keys!.toArray(Float.self)
    // Each row is [H=2, T=2, D=1] = 4 values; row r starts at 1000·origin.
    XCTAssertEqual(
      rows, [2000, 2010, 2100, 2110, 0, 10, 100, 110, 0, 10, 100, 110, 1000, 1010, 1100, 1110])
    // Appending continues every reordered row.
    let (kk, _) = cache.append(
      keys: traced(4, 2, 1, 1, offset: 5), values: traced(4, 2, 1, 1, offset: 5))
    XCTAssertEqual(kk.shape, [4, 2, 3, 1])
    XCTAssertEqual(kk.toArray(Float.self)[0..<3], [2000, 2010, 5])
  }

  func testResetTakesANewBatchSize() {
    let cache = KVCache(batch: 2, heads: 1, capacity: 4, headDim: 2)
    _ = cache.append(keys: traced(2, 1, 1, 2), values: traced(2, 1, 1, 2))
    cache.reset()
    let (k, _) = cache.append(keys: traced(3, 1, 2, 2), values: traced(3, 1, 2, 2))
    XCTAssertEqual(k.shape, [3, 1, 2, 2])
  }

  func testGenerationStateReordersEveryCacheAndTheEncoderOutputs() {
    let selfCache = KVCache()
    let cross = KVCache(isCrossAttention: true)
    _ = selfCache.append(keys: traced(2, 1, 3, 1), values: traced(2, 1, 3, 1))
    _ = cross.append(keys: traced(2, 1, 4, 1), values: traced(2, 1, 4, 1))
    let encoder = Tensor([Float(1), 2, 3, 4], shape: [2, 2, 1])
    let mask = Tensor([Int64(1), 1, 0, 1], shape: [2, 2])
    let state = GenerationState(
      selfAttention: [selfCache], crossAttention: [cross], encoderHiddenStates: encoder,
      encoderAttentionMask: mask)
    XCTAssertEqual(state.pastLength, 3)
    state.expand(times: 2)
    XCTAssertEqual(state.encoderHiddenStates?.toArray(Float.self), [1, 2, 1, 2, 3, 4, 3, 4])
    XCTAssertEqual(state.encoderAttentionMask?.toArray(Int64.self), [1, 1, 1, 1, 0, 1, 0, 1])
    XCTAssertEqual(selfCache.keys?.shape, [4, 1, 3, 1])
    state.reorder(beams: [3, 3, 0, 1])
    XCTAssertEqual(state.encoderHiddenStates?.toArray(Float.self), [3, 4, 3, 4, 1, 2, 1, 2])
    XCTAssertEqual(
      cross.keys!.toArray(Float.self).enumerated().filter { $0.offset % 4 == 0 }.map(\.element),
      [1000, 1000, 0, 0])
    XCTAssertEqual(
      selfCache.keys!.toArray(Float.self).enumerated().filter { $0.offset % 3 == 0 }.map(\.element),
      [1000, 1000, 0, 0])
    state.resetSelfAttention()
    XCTAssertEqual(state.pastLength, 0)
    XCTAssertEqual(cross.length, 4, "cross-attention keys survive a sliding window")
  }

  /// Cross-attention projects the encoder outputs once; later steps reuse them and
  /// give the rows of the uncached attention.
  func testCrossAttentionCacheProjectsTheEncoderOnce() throws {
    let gen = Generator(seed: 9)
    let mha = try MultiheadAttention(embedDim: 8, heads: 2, generator: gen)
    noGrad { mha.inProjBias!.copyIn(Tensor.randn([24], generator: gen)) }
    mha.eval()
    let queries = Tensor.randn([2, 3, 8], generator: gen)
    let encoder = Tensor.randn([2, 5, 8], generator: gen)
    let padding = Tensor(
      [false, false, false, false, false, true, true, false, false, false], shape: [2, 5])
    let full = noGrad { mha(queries, encoder, encoder, keyPaddingMask: padding).output }
    let cache = KVCache(isCrossAttention: true)
    var steps: [Tensor] = []
    for t in 0..<3 {
      let q = queries.slice(dim: 1, start: t, end: t + 1)
      // After the first step the key/value arguments are not read: zeros give the same result.
      let source = t == 0 ? encoder : Tensor.zeros([2, 5, 8])
      steps.append(noGrad { mha(q, source, source, keyPaddingMask: padding, cache: cache).output })
      XCTAssertEqual(cache.length, 5)
    }
    let incremental = Tensor.cat(steps, dim: 1)
    let err = zip(incremental.toArray(Double.self), full.toArray(Double.self)).map { abs($0 - $1) }
      .max()!
    XCTAssertLessThanOrEqual(err, 1e-5)
  }
}
