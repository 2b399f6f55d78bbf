import Foundation
import LoomCore
import XCTest

/// The fused float32 kernels agree with the composite float64 definitions, for values
/// and for gradients — including second-order gradients taken through fused ops.
final class FusedKernelAgreementTests: XCTestCase {
  func compare(
    _ shape: [Int], seed: UInt64, tol: Double = 2e-5, secondOrder: Bool = true, file: StaticString = #filePath,
    line: UInt = #line, _ f: (Tensor) -> Tensor
  ) {
    let base = Tensor.randn(shape, dtype: .float64, generator: Generator(seed: seed))
    func run(_ dtype: DType) -> ([Double], [Double], [Double]) {
      let x = base.to(dtype).detach().requiringGrad()
      let y = f(x)
      let w = Tensor.randn(y.shape, dtype: dtype, generator: Generator(seed: 99))
      let loss = (y * w).sum()
      let g = gradients(of: [loss], wrt: [x], createGraph: secondOrder)[0]!
      var gg: [Double] = []
      if secondOrder {
        let v = Tensor.randn(shape, dtype: dtype, generator: Generator(seed: 7))
        gg = gradients(of: [(g * v).sum()], wrt: [x])[0]!.toArray(Double.self)
      }
      return (y.toArray(Double.self), g.toArray(Double.self), gg)
    }
    let (y32, g32, h32) = run(.float32)
    let (y64, g64, h64) = run(.float64)
    for (name, a, b) in [("value", y32, y64), ("grad", g32, g64), ("second-order grad", h32, h64)] {
      let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
      XCTAssertLessThanOrEqual(worst, tol, "\(name) differs by \(worst)", file: file, line: line)
    }
  }

  func testSoftmaxFamily() {
    compare([7, 33], seed: 1) { $0.softmax(dim: -1) }
    compare([5, 9, 4], seed: 2) { $0.softmax(dim: 1) }
    compare([7, 33], seed: 3) { $0.logSoftmax(dim: -1) }
  }

  func testBinaryCrossEntropy() {
    let t = Tensor.rand([6, 50], dtype: .float64, generator: Generator(seed: 11))
    for second in [false, true] {
      compare([6, 50], seed: 12, secondOrder: second) { $0.sigmoid().binaryCrossEntropy(t.to($0.dtype)) }
      // A scalar upstream gradient (sum) takes the kernel's broadcast path.
      compare([6, 50], seed: 13, secondOrder: second) { $0.sigmoid().binaryCrossEntropy(t.to($0.dtype)).sum() }
    }
    // Saturated probabilities: the logs are floored at -100 and the gradient stays finite.
    let p = Tensor([Float(0), 1, 0.5]).requiringGrad()
    let l = p.binaryCrossEntropy(Tensor([Float(1), 0, 1]))
    XCTAssertEqual(l.floats, [100, 100, Float(-Foundation.log(0.5))])
    l.sum().backward()
    XCTAssertTrue(p.grad!.floats.allSatisfy { $0.isFinite })
  }

  func testActivations() {
    compare([1000], seed: 4) { $0.gelu() }
    compare([1000], seed: 5) { $0.gelu(approximate: "tanh") }
    compare([1000], seed: 6) { $0.silu() }
    compare([1000], seed: 7, secondOrder: false) { $0.relu() }
  }

  func testNormsAndLoss() {
    let w = Tensor.randn([48], generator: Generator(seed: 8))
    let b = Tensor.randn([48], generator: Generator(seed: 9))
    compare([6, 48], seed: 10) { layerNorm($0, weight: w.to($0.dtype), bias: b.to($0.dtype)) }
    compare([6, 48], seed: 11) { rmsNorm($0, weight: w.to($0.dtype)) }
    let targets = Tensor([Int64(3), 0, -100, 47, 12, 5], shape: [6])
    compare([6, 48], seed: 12) { crossEntropy($0, targets, labelSmoothing: 0.1) }
  }
}

/// The flash-style attention kernel (float32) against the composite float64 definition,
/// with blocks that cross the 32-row query tiles and the 512-wide key blocks (the online
/// softmax across key blocks), causal and padding masks, Tq ≠ Tk.
final class FusedAttentionTests: XCTestCase {
  /// `padded`: right padding (`padStep`·i keys masked in batch i, the kernel's prefix fast path, which
  /// skips the padded key columns);
  /// `holes`: every third key masked from key 1 on (the per-key masking pass).
  func run(
    b: Int, h: Int, tq: Int, tk: Int, d: Int, causal: Bool, padded: Bool, padStep: Int = 3, holes: Bool = false,
    secondOrder: Bool = false
  ) {
    let gen = Generator(seed: UInt64(tq * 1000 + tk))
    let q0 = Tensor.randn([b, h, tq, d], dtype: .float64, generator: gen)
    let k0 = Tensor.randn([b, h, tk, d], dtype: .float64, generator: gen)
    let v0 = Tensor.randn([b, h, tk, d + 3], dtype: .float64, generator: gen)
    let up = Tensor.randn([b, h, tq, d + 3], dtype: .float64, generator: gen)
    var mask: Tensor? = nil
    if padded {
      var keep = [Bool](repeating: true, count: b * tk)
      for i in 0..<b { for t in 0..<tk where t >= tk - padStep * i { keep[i * tk + t] = false } }
      mask = Tensor(keep, shape: [b, 1, 1, tk])
    }
    if holes {
      mask = Tensor((0..<b * tk).map { ($0 % tk) % 3 != 1 }, shape: [b, 1, 1, tk])
    }
    func eval(_ dtype: DType) -> [[Double]] {
      let q = q0.to(dtype).detach().requiringGrad(), k = k0.to(dtype).detach().requiringGrad()
      let v = v0.to(dtype).detach().requiringGrad()
      let o = scaledDotProductAttention(q, k, v, mask: mask, isCausal: causal)
      let loss = (o * up.to(dtype)).sum()
      let g = gradients(of: [loss], wrt: [q, k, v], createGraph: secondOrder)
      var result = [o.toArray(Double.self)] + g.map { $0!.toArray(Double.self) }
      if secondOrder {
        let s = (g[0]!.square().sum() + g[1]!.square().sum())
        result += gradients(of: [s], wrt: [q, v]).map { $0!.toArray(Double.self) }
      }
      return result
    }
    let fused = eval(.float32), reference = eval(.float64)
    for (i, (a, r)) in zip(fused, reference).enumerated() {
      let worst = zip(a, r).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
      XCTAssertLessThanOrEqual(
        worst, 5e-5, "tensor \(i) (tq \(tq), tk \(tk), causal \(causal), padded \(padded), holes \(holes))")
    }
  }

  func testAgreesWithComposite() {
    run(b: 2, h: 3, tq: 70, tk: 70, d: 16, causal: true, padded: false)
    run(b: 2, h: 2, tq: 130, tk: 130, d: 8, causal: false, padded: true)
    run(b: 1, h: 2, tq: 5, tk: 67, d: 8, causal: true, padded: false)
    run(b: 3, h: 1, tq: 1, tk: 9, d: 4, causal: true, padded: true)
    run(b: 1, h: 2, tq: 9, tk: 9, d: 4, causal: true, padded: false, secondOrder: true)
    run(b: 1, h: 1, tq: 600, tk: 600, d: 8, causal: true, padded: false)
    run(b: 2, h: 1, tq: 40, tk: 1030, d: 4, causal: false, padded: true)
    run(b: 1, h: 1, tq: 70, tk: 530, d: 4, causal: true, padded: false)
    run(b: 2, h: 2, tq: 40, tk: 40, d: 8, causal: false, padded: false, holes: true)
    // Heavy right padding: batch 1 sees 350 of 600 keys (inside the first 512-wide key block),
    // batch 2 only 100; a short padded batch with a query tile over its visible keys.
    run(b: 3, h: 2, tq: 40, tk: 600, d: 4, causal: false, padded: true, padStep: 250)
    run(b: 3, h: 2, tq: 37, tk: 37, d: 8, causal: false, padded: true, padStep: 11)
    run(b: 1, h: 1, tq: 20, tk: 600, d: 4, causal: true, padded: false, holes: true)
  }
}

/// Attention dropout inside the fused kernel equals the composite definition with the
/// same (hashed) mask, forward and backward, and is reproducible from the generator.
final class FusedAttentionDropoutTests: XCTestCase {
  func testDropoutMatchesCompositeWithTheSameMask() {
    let (b, h, t, d) = (2, 2, 70, 8)
    let p = 0.3
    let gen = Generator(seed: 11)
    let q0 = Tensor.randn([b, h, t, d], dtype: .float64, generator: gen)
    let k0 = Tensor.randn([b, h, t, d], dtype: .float64, generator: gen)
    let v0 = Tensor.randn([b, h, t, d], dtype: .float64, generator: gen)
    let up = Tensor.randn([b, h, t, d], dtype: .float64, generator: gen)
    // Fused, float32: the seed is the generator's next value.
    let seedSource = Generator(seed: 99)
    let seed = Generator(seed: 99).next()
    let q = q0.to(.float32).detach().requiringGrad(), k = k0.to(.float32).detach().requiringGrad()
    let v = v0.to(.float32).detach().requiringGrad()
    let out = scaledDotProductAttention(q, k, v, isCausal: true, dropoutP: p, training: true, generator: seedSource)
    (out * up.to(.float32)).sum().backward()
    // Composite, float64, with the mask rebuilt from the same seed.
    let dropout = AttentionDropout(p: p, seed: seed)
    var m = [Double](repeating: 0, count: b * h * t * t)
    for bi in 0..<b { for hi in 0..<h { for r in 0..<t { for c in 0..<t {
      m[((bi * h + hi) * t + r) * t + c] = Double(dropout.scale(batch: bi, head: hi, heads: h, query: r, queries: t, key: c, keys: t))
    } } } }
    let mask = Tensor(m, shape: [b, h, t, t])
    let q64 = q0.detach().requiringGrad(), k64 = k0.detach().requiringGrad(), v64 = v0.detach().requiringGrad()
    let scores = q64.matmul(k64.transpose(-2, -1)) * (1 / Double(d).squareRoot())
    let causal = Tensor.triangleMask(rows: t, cols: t, lower: true)
    let probs = scores.maskedFill(causal.logicalNot(), value: -.infinity).softmax(dim: -1)
    let ref = (probs * mask).matmul(v64)
    (ref * up).sum().backward()
    for (name, a, r) in [("output", out, ref), ("dq", q.grad!, q64.grad!), ("dk", k.grad!, k64.grad!), ("dv", v.grad!, v64.grad!)] {
      let worst = zip(a.toArray(Double.self), r.toArray(Double.self)).map { abs($0 - $1) / max(1, abs($1)) }.max()!
      XCTAssertLessThanOrEqual(worst, 5e-5, "\(name) differs by \(worst)")
    }
    // About p of the entries are dropped.
    let dropped = Double(m.filter { $0 == 0 }.count) / Double(m.count)
    XCTAssertEqual(dropped, p, accuracy: 0.02)
  }
}
