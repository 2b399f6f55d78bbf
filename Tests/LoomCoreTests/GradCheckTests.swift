import LoomCore
import XCTest

/// Finite-difference checks (float64) of every differentiable op, first and second order.
final class GradCheckTests: XCTestCase {
  func leaf(_ shape: [Int], seed: UInt64, scale: Double = 1, shift: Double = 0) -> Tensor {
    (Tensor.randn(shape, dtype: .float64, generator: Generator(seed: seed)) * scale + shift).detach().requiringGrad()
  }

  func assertGrad(
    _ inputs: [Tensor], secondOrder: Bool = false, file: StaticString = #filePath, line: UInt = #line,
    _ f: @escaping ([Tensor]) -> Tensor
  ) {
    let first = GradCheck.check(inputs, f)
    XCTAssertTrue(first.passed, "first order: \(first)", file: file, line: line)
    if secondOrder {
      let second = GradCheck.checkSecondOrder(inputs, f)
      XCTAssertTrue(second.passed, "second order: \(second)", file: file, line: line)
    }
  }

  func testArithmeticBroadcast() {
    let a = leaf([3, 4], seed: 1), b = leaf([4], seed: 2), c = leaf([3, 1], seed: 3, shift: 3)
    assertGrad([a, b, c], secondOrder: true) { x in (x[0] + x[1]) * x[0] - x[1] / x[2] }
    assertGrad([a]) { x in x[0].pow(3) + x[0].abs().pow(2.5) }
    assertGrad([a, c], secondOrder: true) { x in x[0].maximum(x[1]) }
  }

  func testUnary() {
    let x = leaf([2, 5], seed: 4)
    let pos = leaf([2, 5], seed: 5, scale: 0.3, shift: 2)
    for (name, f) in [
      ("exp", { (t: Tensor) in t.exp() }), ("tanh", { $0.tanh() }), ("sigmoid", { $0.sigmoid() }),
      ("gelu", { $0.gelu() }), ("gelu_tanh", { $0.gelu(approximate: "tanh") }), ("silu", { $0.silu() }),
      ("sin", { $0.sin() }), ("cos", { $0.cos() }), ("erf", { $0.erf() }), ("square", { $0.square() }),
      ("leaky_relu", { $0.leakyRelu(negativeSlope: 0.2) }), ("relu", { $0.relu() }),
    ] as [(String, (Tensor) -> Tensor)] {
      let r = GradCheck.check([x]) { f($0[0]) }
      XCTAssertTrue(r.passed, "\(name): \(r)")
      if name != "relu" && name != "leaky_relu" {
        let s = GradCheck.checkSecondOrder([x]) { f($0[0]) }
        XCTAssertTrue(s.passed, "\(name) second order: \(s)")
      }
    }
    for (name, f) in [
      ("log", { (t: Tensor) in t.log() }), ("sqrt", { $0.sqrt() }), ("rsqrt", { $0.rsqrt() }),
      ("reciprocal", { $0.reciprocal() }),
    ] as [(String, (Tensor) -> Tensor)] {
      let r = GradCheck.check([pos]) { f($0[0]) }
      XCTAssertTrue(r.passed, "\(name): \(r)")
      let s = GradCheck.checkSecondOrder([pos]) { f($0[0]) }
      XCTAssertTrue(s.passed, "\(name) second order: \(s)")
    }
  }

  func testReductions() {
    let x = leaf([3, 4, 5], seed: 6)
    assertGrad([x], secondOrder: true) { t in t[0].sum(dims: [0, 2]) * t[0].mean(dim: 1).sum() }
    assertGrad([x], secondOrder: true) { t in t[0].variance(dims: [1]) + t[0].std(dims: [2], unbiased: false).sum() }
    assertGrad([x]) { t in t[0].max(dim: 1).values + t[0].min(dim: 2, keepDim: true).values.sum() }
    assertGrad([x], secondOrder: true) { t in t[0].logSumExp(dim: -1) }
  }

  func testMatmul() {
    let a = leaf([2, 3, 4], seed: 7), b = leaf([4, 5], seed: 8), c = leaf([1, 5, 2], seed: 9)
    assertGrad([a, b, c], secondOrder: true) { t in t[0].matmul(t[1]).matmul(t[2]) }
    let w = leaf([6, 4], seed: 10), bias = leaf([6], seed: 11)
    assertGrad([a, w, bias], secondOrder: true) { t in linear(t[0], weight: t[1], bias: t[2]).tanh() }
    let wIn = leaf([4, 6], seed: 21)
    assertGrad([a, wIn, bias], secondOrder: true) { t in addmm(t[0], weight: t[1], bias: t[2]).tanh() }
    assertGrad([a, w]) { t in linear(t[0], weight: t[1]) }
    // Row-vector products take the GEMV path (plain and transposed operands).
    let row = leaf([1, 4], seed: 22), col = leaf([4, 1], seed: 23)
    assertGrad([row, b]) { t in t[0].matmul(t[1]) }
    assertGrad([col, b]) { t in t[0].T.matmul(t[1]) + t[0].T.matmul(t[1].T.T) }
    assertGrad([row, w]) { t in t[0].matmul(t[1].T) }
    let v = leaf([4], seed: 12)
    assertGrad([a, v]) { t in t[0].matmul(t[1]) }
  }

  func testViewsAndIndexing() {
    let x = leaf([3, 4], seed: 13)
    assertGrad([x]) { t in t[0].T.reshape([2, 6]).slice(dim: 1, start: 1, end: 6, step: 2) * 2 }
    assertGrad([x]) { t in t[0].unsqueeze(0).expand([2, 3, 4]).permute(2, 0, 1).contiguous().squeeze() }
    let y = leaf([3, 2], seed: 14)
    assertGrad([x, y]) { t in Tensor.cat([t[0], t[1]], dim: 1).chunk(3, dim: 1)[1] }
    assertGrad([x, y]) { t in Tensor.stack([t[0].slice(dim: 1, end: 2), t[1]], dim: 0).select(dim: 2, index: 1) }
    let idx = Tensor([Int64(2), 0, 0, 1], shape: [4])
    assertGrad([x]) { t in t[0].indexSelect(dim: 0, index: idx) }
    assertGrad([x]) { t in Tensor.embedding(Tensor([Int64(1), 2, 1], shape: [3]), weight: t[0]) }
    let gi = Tensor([Int64(0), 3, 1, 1, 2, 2], shape: [3, 2])
    assertGrad([x]) { t in t[0].gather(dim: 1, index: gi) }
    assertGrad([x, y]) { t in t[0].scatterAdd(dim: 1, index: gi, source: t[1]) }
    let mask = x.detach() > 0
    assertGrad([x, y]) { t in Tensor.where(mask, t[0], t[1].sum(dim: 1, keepDim: true)) }
    assertGrad([x]) { t in t[0].tril() + t[0].triu(diagonal: 1) * 3 + t[0].maskedFill(mask, value: 1) }
    assertGrad([x]) { t in t[0].topk(2, dim: 1).values + t[0].sort(dim: 1, descending: true).values.slice(dim: 1, end: 2) }
  }

  func testSoftmaxCrossEntropyNorms() {
    let x = leaf([4, 6], seed: 15)
    assertGrad([x], secondOrder: true) { t in t[0].softmax(dim: -1) }
    assertGrad([x], secondOrder: true) { t in t[0].softmax(dim: 0) }
    assertGrad([x], secondOrder: true) { t in t[0].logSoftmax(dim: 1) }
    let targets = Tensor([Int64(1), -100, 5, 0], shape: [4])
    assertGrad([x], secondOrder: true) { t in crossEntropy(t[0], targets, labelSmoothing: 0.2) }
    assertGrad([x]) { t in crossEntropy(t[0], targets, reduction: .none) }
    let w = leaf([6], seed: 16, scale: 0.5, shift: 1), b = leaf([6], seed: 17)
    assertGrad([x, w, b], secondOrder: true) { t in layerNorm(t[0], weight: t[1], bias: t[2]) }
    assertGrad([x, w], secondOrder: true) { t in rmsNorm(t[0], weight: t[1]) }
  }

  func testAttention() {
    let q = leaf([1, 2, 3, 4], seed: 18), k = leaf([1, 2, 5, 4], seed: 19), v = leaf([1, 2, 5, 3], seed: 20)
    assertGrad([q, k, v], secondOrder: true) { t in scaledDotProductAttention(t[0], t[1], t[2], isCausal: true) }
    let mask = Tensor([true, true, false, true, true], shape: [1, 1, 1, 5])
    assertGrad([q, k, v]) { t in scaledDotProductAttention(t[0], t[1], t[2], mask: mask) }
  }
}
