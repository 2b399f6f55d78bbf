import Foundation
import LoomCore
import LoomNN
import LoomOptim
import XCTest

/// Incremental decoding, bad input, containers and Adafactor checkpoints.
final class AttentionBehaviorTests: XCTestCase {
  func maxError(_ a: Tensor, _ b: Tensor) -> Double {
    XCTAssertEqual(a.shape, b.shape)
    return zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max()
      ?? .infinity
  }

  func message(_ body: () throws -> Void) -> String {
    do { try body() } catch { return "\(error)" }
    XCTFail("expected an error")
    return ""
  }

  func testIncrementalDecodingWithCacheEqualsFullCausalForward() throws {
    let gen = Generator(seed: 5)
    let mha = try MultiheadAttention(embedDim: 16, heads: 4, dropout: 0.2, generator: gen)
    noGrad { mha.inProjBias!.copyIn(Tensor.randn([48], generator: gen)) }
    mha.eval()
    let x = Tensor.randn([2, 7, 16], generator: gen)
    var pad = [Bool](repeating: false, count: 14)
    pad[13] = true  // the second sequence's last position is padding
    let padding = Tensor(pad, shape: [2, 7])
    let full = mha(x, x, x, keyPaddingMask: padding, isCausal: true).output

    // Chunks of 3, 1, 1, 2 positions; a small capacity makes the cache grow twice.
    let cache = KVCache(capacity: 2)
    var pieces: [Tensor] = []
    var start = 0
    for (i, n) in [3, 1, 1, 2].enumerated() {
      let chunk = x.slice(dim: 1, start: start, end: start + n)
      let seen = padding.slice(dim: 1, start: 0, end: start + n)
      let r = mha(
        chunk, chunk, chunk, keyPaddingMask: seen, isCausal: true, needWeights: i == 3, cache: cache
      )
      if i == 3 { XCTAssertEqual(r.weights?.shape, [2, 2, 7]) }
      pieces.append(r.output)
      start += n
    }
    XCTAssertEqual(cache.length, 7)
    XCTAssertGreaterThanOrEqual(cache.capacity, 7)
    let incremental = Tensor.cat(pieces, dim: 1)
    XCTAssertLessThanOrEqual(maxError(incremental, full), 1e-5)

    // A fresh start after reset gives the first chunk again.
    cache.reset()
    let first = mha(
      x.slice(dim: 1, start: 0, end: 3), x.slice(dim: 1, start: 0, end: 3), x.slice(dim: 1, start: 0, end: 3),
      isCausal: true, cache: cache
    ).output
    XCTAssertLessThanOrEqual(maxError(first, full.slice(dim: 1, start: 0, end: 3)), 1e-5)
  }

  func testDropoutOnlyInTrainingAndUnbatchedInputs() throws {
    let gen = Generator(seed: 9)
    let mha = try MultiheadAttention(embedDim: 8, heads: 2, dropout: 0.5, generator: gen)
    let x = Tensor.randn([1, 6, 8], generator: gen)
    mha.eval()
    let evaluated = mha(x)
    let weights = mha(x, x, x, needWeights: true).weights!
    // Rows of the averaged weights sum to one without dropout.
    XCTAssertLessThanOrEqual(maxError(weights.sum(dim: -1), Tensor.ones([1, 6])), 1e-6)
    mha.train()
    XCTAssertGreaterThan(maxError(mha(x), evaluated), 1e-3)
    mha.eval()
    // Unbatched [T, E] is a batch of one.
    let single = mha(x.squeeze(0), x.squeeze(0), x.squeeze(0), needWeights: true)
    XCTAssertLessThanOrEqual(maxError(single.output, evaluated.squeeze(0)), 1e-6)
    XCTAssertEqual(single.weights?.shape, [6, 6])
  }

  func testBadShapesAreNamedInErrors() throws {
    XCTAssertTrue(
      message { _ = try MultiheadAttention(embedDim: 10, heads: 3) }.contains(
        "embed_dim 10 is not divisible by num_heads 3"))
    XCTAssertTrue(
      message { _ = try MultiheadAttention(embedDim: 0, heads: 1) }.contains("must be positive"))
    let mha = try MultiheadAttention(embedDim: 8, heads: 2, kdim: 6)
    let q = Tensor.zeros([2, 5, 8])
    let k = Tensor.zeros([2, 4, 6])
    let v = Tensor.zeros([2, 4, 8])
    XCTAssertNoThrow(try mha.validate(query: q, key: k, value: v))
    XCTAssertTrue(
      message { try mha.validate(query: Tensor.zeros([2, 5, 7]), key: k, value: v) }
        .contains("query must be [batch, target, 8], got [2, 5, 7]"))
    XCTAssertTrue(
      message { try mha.validate(query: q, key: v, value: v) }.contains(
        "key must be [batch, source, 6] (kdim), got [2, 4, 8]"))
    XCTAssertTrue(
      message { try mha.validate(query: q, key: Tensor.zeros([3, 4, 6]), value: v) }.contains(
        "[2, 5, 8], key [3, 4, 6]"))
    XCTAssertTrue(
      message {
        try mha.validate(
          query: q, key: k, value: v, keyPaddingMask: Tensor.zeros([2, 5], dtype: .bool))
      }
      .contains("key_padding_mask must be bool or float [batch, source] = [2, 4], got bool [2, 5]"))
    XCTAssertTrue(
      message { try mha.validate(query: q, key: k, value: v, attnMask: Tensor.zeros([4, 5])) }
        .contains(
          "[target, source] = [5, 4] or [batch·heads, target, source] = [4, 5, 4], got float32 [4, 5]"
        ))
    XCTAssertTrue(
      message {
        try mha.validate(
          query: q, key: k, value: v, keyPaddingMask: Tensor.zeros([2, 4], dtype: .int64))
      }
      .contains("got int64"))
    // With 3 cached positions the masks cover 3 + 4 keys.
    XCTAssertNoThrow(
      try mha.validate(query: q, key: k, value: v, attnMask: Tensor.zeros([5, 7]), cachedLength: 3))
    XCTAssertTrue(
      message { _ = try RotaryEmbedding(headDim: 8, rotaryDim: 5) }.contains(
        "rotary dim 5 must be even"))
    let cache = KVCache()
    _ = cache.append(keys: Tensor.zeros([1, 2, 3, 4]), values: Tensor.zeros([1, 2, 3, 4]))
    XCTAssertTrue(
      message {
        try cache.validate(keys: Tensor.zeros([1, 3, 1, 4]), values: Tensor.zeros([1, 3, 1, 4]))
      }
      .contains("do not match the cached [1, 2, 3, 4]"))
  }

  func testLearnedPositionsWithOffsetAndIDs() {
    let wpe = LearnedPositionalEmbedding(
      maxPositions: 10, dimension: 4, generator: Generator(seed: 2))
    XCTAssertEqual(wpe.namedParameters().map(\.0), ["weight"])
    let x = Tensor.zeros([2, 3, 4])
    XCTAssertEqual(
      wpe(x, offset: 4).toArray(Float.self),
      wpe.weight.slice(dim: 0, start: 4, end: 7).expand([2, 3, 4]).toArray(Float.self))
    let ids = Tensor([Int64(9), 0], shape: [1, 2])
    XCTAssertEqual(
      wpe.embeddings(positions: ids).reshape([2, 4]).toArray(Float.self),
      Tensor.cat([
        wpe.weight.slice(dim: 0, start: 9, end: 10), wpe.weight.slice(dim: 0, start: 0, end: 1),
      ]).toArray(Float.self))
    let sinusoid = SinusoidalPositionalEncoding(dimension: 4, maxLength: 8)
    XCTAssertEqual(
      sinusoid.encodings(length: 2, offset: 1).toArray(Float.self)[0], Float(sin(1.0)), accuracy: 1e-7)
  }

  final class Net: Module {
    @Child var blocks = ModuleList(Linear(2, 3), ReLU(), Linear(3, 1, bias: false))
    @Child var heads = ModuleDict([("zeta", Linear(1, 2)), ("alpha", ModuleList(Linear(1, 1)))])
  }

  func testModuleListAndDictNameChildrenLikePyTorch() throws {
    let net = Net()
    XCTAssertEqual(
      net.namedParameters().map(\.0),
      [
        "blocks.0.weight", "blocks.0.bias", "blocks.2.weight", "heads.zeta.weight",
        "heads.zeta.bias",
        "heads.alpha.0.weight", "heads.alpha.0.bias",
      ])
    XCTAssertEqual(net.blocks.count, 3)
    XCTAssertTrue(net.blocks[1] is ReLU)
    XCTAssertEqual(net.blocks.map { "\(type(of: $0))" }, ["Linear", "ReLU", "Linear"])
    net.blocks.append(Linear(1, 1))
    XCTAssertEqual(
      net.namedParameters().filter { $0.0.hasPrefix("blocks.3") }.map(\.0), ["blocks.3.weight", "blocks.3.bias"])
    XCTAssertEqual(net.heads.keys, ["zeta", "alpha"])
    net.heads["beta"] = Linear(2, 2, bias: false)
    net.heads["zeta"] = nil
    XCTAssertEqual(net.heads.keys, ["alpha", "beta"])
    XCTAssertEqual(
      net.namedModules().map(\.0).filter { $0.hasPrefix("heads.") }, ["heads.alpha", "heads.alpha.0", "heads.beta"])
    // State dicts round-trip into a fresh module of the same structure.
    let copy = Net()
    copy.blocks.append(Linear(1, 1))
    copy.heads["beta"] = Linear(2, 2, bias: false)
    copy.heads["zeta"] = nil
    try copy.loadStateDict(net.stateDict())
    XCTAssertEqual(
      copy.heads["beta"]!.parameters()[0].toArray(Float.self), net.heads["beta"]!.parameters()[0].toArray(Float.self))
    net.eval()
    XCTAssertFalse(net.heads["alpha"]!.training)
  }

  func testAdafactorStateDictResumesExactly() throws {
    let gen = Generator(seed: 4)
    func params() -> [Tensor] {
      [
        Tensor.randn([3, 4], generator: Generator(seed: 1)).requiringGrad(),
        Tensor.randn([4], generator: Generator(seed: 2)).requiringGrad(),
      ]
    }
    let grads = (0..<3).map { _ in
      [Tensor.randn([3, 4], generator: gen), Tensor.randn([4], generator: gen)]
    }
    let a = params()
    let b = params()
    let first = Adafactor(a, lr: 0.1, weightDecay: 0.01)
    for s in 0..<2 {
      for (p, g) in zip(a, grads[s]) { p.grad = g }
      first.step()
    }
    let saved = first.stateDict()
    XCTAssertEqual(Set(saved.keys), ["0.step", "0.row_var", "0.col_var", "1.step", "1.variance"])
    XCTAssertEqual(saved["0.row_var"]?.shape, [3, 1])
    XCTAssertEqual(saved["0.col_var"]?.shape, [1, 4])
    noGrad { for (p, q) in zip(b, a) { p.copyIn(q) } }
    let second = Adafactor(b, lr: 0.1, weightDecay: 0.01)
    try second.loadStateDict(saved)
    for opt in [(first, a), (second, b)] {
      for (p, g) in zip(opt.1, grads[2]) { p.grad = g }
      opt.0.step()
    }
    for (p, q) in zip(a, b) { XCTAssertEqual(p.toArray(Float.self), q.toArray(Float.self)) }
    var bad = saved
    bad["0.row_var"] = Tensor.zeros([4, 1])
    XCTAssertTrue(
      message { try Adafactor(b).loadStateDict(bad) }.contains(
        "expects row_var of shape [3, 1], got [4, 1]"))
  }
}
