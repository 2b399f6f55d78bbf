import LoomCore
import XCTest

/// Several paths into one tensor: the engine adds later contributions into a buffer only it
/// sees (and embedding rows straight into it), so a tied embedding's backward holds one [V, C]
/// gradient, not three. The sums must equal the plain ones, and buffers other tensors can see
/// must never be written.
final class GradientAccumulationTests: XCTestCase {
  func testTiedEmbeddingGradientSumsEveryPath() {
    let gen = Generator(seed: 3)
    let w = Tensor.randn([7, 4], generator: gen).requiringGrad()
    let ids1 = Tensor([0, 2, 2, 6] as [Int64], shape: [2, 2])
    let ids2 = Tensor([2, 5, 0] as [Int64], shape: [3])
    let x = Tensor.randn([3, 4], generator: gen)
    // A matmul path first (a fresh [V, C] gradient, as a tied LM head gives), then two gathers.
    let head = linear(x, weight: w)  // [3, 7]
    let loss = (head * head).sum() + Tensor.embedding(ids1, weight: w).sum() * 2
      + (Tensor.embedding(ids2, weight: w) * x).sum()
    loss.backward()
    // Reference: 2·x^T·head for the head, then rows by hand.
    var expected = (head.detach().transpose(0, 1).matmul(x) * 2).floats
    for id in [0, 2, 2, 6] { for j in 0..<4 { expected[id * 4 + j] += 2 } }
    let xs = x.floats
    for (i, id) in [2, 5, 0].enumerated() { for j in 0..<4 { expected[id * 4 + j] += xs[i * 4 + j] } }
    let got = w.grad!.floats
    for i in 0..<expected.count { XCTAssertEqual(got[i], expected[i], accuracy: 1e-5, "element \(i)") }
  }

  func testGatherFirstThenOtherPathsMatchesFiniteDifferences() {
    let gen = Generator(seed: 4)
    let w = Tensor.randn([5, 3], dtype: .float64, generator: gen).requiringGrad()
    let ids = Tensor([4, 1, 1] as [Int64], shape: [3])
    let r = GradCheck.check([w]) { inputs in
      let v = inputs[0]
      let e = Tensor.embedding(ids, weight: v)
      return (e * e).sum() + (v * v * v).sum() + Tensor.embedding(ids, weight: v).sum()
    }
    XCTAssertTrue(r.passed, "\(r)")
    // The same through .grad (backward, not captured gradients).
    let loss = { (v: Tensor) in
      (Tensor.embedding(ids, weight: v).pow(2)).sum() + (v * v * v).sum() + Tensor.embedding(ids, weight: v).sum()
    }
    loss(w).backward()
    var expected = (w.detach() * w.detach() * 3).toArray(Double.self)
    let ws = w.detach().toArray(Double.self)
    for id in [4, 1, 1] { for j in 0..<3 { expected[id * 3 + j] += 2 * ws[id * 3 + j] + 1 } }
    let got = w.grad!.toArray(Double.self)
    for i in 0..<expected.count { XCTAssertEqual(got[i], expected[i], accuracy: 1e-12) }
  }

  func testAGradientSharedByTwoInputsIsNotWrittenInPlace() {
    // y = a + a hands one gradient object to both edges into `a`; z = a * b sends another.
    // Adding in place into the first would also change what the other edge reads.
    let a = Tensor([1, 2, 3] as [Float]).requiringGrad()
    let b = Tensor([4, 5, 6] as [Float]).requiringGrad()
    let h = a * 1
    let y = h + h
    let loss = (y * y).sum() + (h * b).sum()
    loss.backward()
    // d/da = 2·(2·2a) + b = 8a + b.
    XCTAssertEqual(a.grad!.floats, [12, 21, 30])
    XCTAssertEqual(b.grad!.floats, [1, 2, 3])
  }

  func testUserTensorsPassedAsGradientsAreNeverWritten() {
    // `out = y + y` hands the caller's seed to both edges into y: the engine must sum into a
    // new buffer, not into the caller's tensor.
    let x = Tensor([1, 2] as [Float]).requiringGrad()
    let seed = Tensor([1, 10] as [Float])
    let y = x * 3
    let out = y + y
    out.backward(seed)
    XCTAssertEqual(x.grad!.floats, [6, 60])
    XCTAssertEqual(seed.floats, [1, 10])
  }
}
