import LoomCore
import XCTest

final class AutogradTests: XCTestCase {
  func testLeafGradientsAccumulateUntilZeroed() {
    let x = Tensor([Float(1), 2, 3]).requiringGrad()
    (x * x).sum().backward()
    XCTAssertEqual(x.grad?.floats, [2, 4, 6])
    (x * 3).sum().backward()
    XCTAssertEqual(x.grad?.floats, [5, 7, 9])
    x.zeroGrad()
    XCTAssertNil(x.grad)
  }

  /// Leaf gradients are adopted without a copy only when nothing else sees their memory:
  /// writing into one .grad must never change another gradient or the caller's seed.
  func testLeafGradientsNeverAlias() {
    let a = Tensor([Float(1), 2, 3, 4]).requiringGrad()
    let b = Tensor([Float(5), 6, 7, 8]).requiringGrad()
    let c = Tensor([Float(1), 1]).requiringGrad()
    let seed = Tensor([Float(1), 2, 3, 4])
    // add's backward hands the same gradient to both inputs; reshape's is a view of it.
    (a + b + Tensor.cat([c, c])).backward(seed)
    (a.reshape([2, 2]) + b.reshape([2, 2])).sum().backward()
    a.grad!.narrow(dim: 0, start: 0, length: 1).fill(100)
    XCTAssertEqual(b.grad!.floats, [2, 3, 4, 5])
    XCTAssertEqual(seed.floats, [1, 2, 3, 4])
    let x = Tensor([Float(1), 2]).requiringGrad()
    let g = Tensor([Float(3), 4])
    x.reshape([1, 2]).squeeze(0).backward(g)
    x.grad!.narrow(dim: 0, start: 1, length: 1).fill(-1)
    XCTAssertEqual(g.floats, [3, 4])
    // A fresh kernel result (softmax backward) is adopted: the values are still right.
    let s = Tensor([Float(0.5), -1, 2]).requiringGrad()
    s.softmax(dim: 0).backward(Tensor([Float(1), 0, 0]))
    let p = s.detach().softmax(dim: 0).floats
    XCTAssertEqual(s.grad!.floats[0], p[0] * (1 - p[0]), accuracy: 1e-6)
  }

  /// Slice gradients are written into one buffer in place; overlapping slices, strided
  /// slices and other consumers of the same tensor must still add up (checked against the
  /// zero-padded path that createGraph takes).
  func testSliceGradientsAccumulate() {
    let x = Tensor.randn([6, 4], generator: Generator(seed: 3)).requiringGrad()
    let w = Tensor.randn([4, 4], generator: Generator(seed: 4))
    func loss() -> Tensor {
      let parts = x.split([1, 2, 1], dim: 1)
      let overlapping =
        x.slice(dim: 0, start: 0, end: 4) * w + x.slice(dim: 0, start: 2, end: 6) * 2
      let strided = x.slice(dim: 0, start: 1, end: 6, step: 2).sum()
      return (parts[0] * 3).sum() + parts[2].square().sum() + overlapping.sum() + strided
        + (x * x).sum()
        + parts[1].slice(dim: 0, start: 1, end: 3).sum()
    }
    let reference = gradients(of: [loss()], wrt: [x], createGraph: true)[0]!.floats
    loss().backward()
    for (a, b) in zip(x.grad!.floats, reference) { XCTAssertEqual(a, b, accuracy: 1e-5) }
  }

  /// Slice gradients start in uninitialised memory: whatever order slices and plain
  /// consumers of the same tensor arrive in, unwritten regions read as zeros and plain
  /// contributions are added, not overwritten (checked against dx = [a | 0 | c] + b).
  func testSliceGradientsWithGapsAndInterleavedConsumers() {
    let x = Tensor.randn([3, 7], generator: Generator(seed: 5)).requiringGrad()
    let a = Tensor.randn([3, 2], generator: Generator(seed: 6))
    let b = Tensor.randn([3, 7], generator: Generator(seed: 7))
    let c = Tensor.randn([3, 3], generator: Generator(seed: 8))
    let terms: [() -> Tensor] = [
      { (x.slice(dim: 1, start: 0, end: 2) * a).sum() },
      { (x * b).sum() },
      { (x.slice(dim: 1, start: 4, end: 7) * c).sum() },
    ]
    var expected = b.floats
    for r in 0..<3 {
      for j in 0..<2 { expected[r * 7 + j] += a.floats[r * 2 + j] }
      for j in 0..<3 { expected[r * 7 + 4 + j] += c.floats[r * 3 + j] }
    }
    for order in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
      x.zeroGrad()
      order.map { terms[$0]() }.reduce(Tensor.scalar(0), +).backward()
      for (got, want) in zip(x.grad!.floats, expected) {
        XCTAssertEqual(got, want, accuracy: 1e-5, "order \(order)")
      }
    }
    // Slices alone, with a gap between them: the gap's gradient is zero.
    x.zeroGrad()
    (terms[0]() + terms[2]()).backward()
    for r in 0..<3 {
      for j in 0..<7 {
        let want: Float = j < 2 ? a.floats[r * 2 + j] : j >= 4 ? c.floats[r * 3 + j - 4] : 0
        XCTAssertEqual(x.grad!.floats[r * 7 + j], want, accuracy: 1e-6)
      }
    }
  }

  func testNoGradAndDetachRecordNothing() {
    let x = Tensor([Float(1), 2]).requiringGrad()
    let y = noGrad { x * 2 }
    XCTAssertFalse(y.requiresGrad)
    XCTAssertEqual(y.gradFnName, "")
    let z = (x.detach() * 2)
    XCTAssertFalse(z.requiresGrad)
    let w = x * 2
    XCTAssertTrue(w.requiresGrad)
    XCTAssertEqual(w.gradFnName, "MulBackward")
  }

  func testGraphIsFreedAfterBackwardUnlessRetained() {
    let x = Tensor([Float(1), 2]).requiringGrad()
    let y = (x.exp() * x).sum()
    XCTAssertFalse(y.hasReleasedGraph)
    y.backward(retainGraph: true)
    XCTAssertFalse(y.hasReleasedGraph)
    y.backward()
    XCTAssertTrue(y.hasReleasedGraph)
    // d/dx (x e^x) = (1 + x) e^x, accumulated twice.
    let expected = [1.0, 2.0].map { 2 * (1 + $0) * Foundation.exp($0) }
    for (g, e) in zip(x.grad!.doubles, expected) { XCTAssertEqual(g, e, accuracy: 1e-4) }
  }

  func testUpstreamGradientAndNonLeafRetainGrad() {
    let x = Tensor([Float(1), 2, 3]).requiringGrad()
    let h = x * 2
    h.retainGrad()
    let y = h.square()
    y.backward(Tensor([Float(1), 0, -1]))
    XCTAssertEqual(h.grad?.floats, [4, 0, -12])
    XCTAssertEqual(x.grad?.floats, [8, 0, -24])
  }

  /// d²/dx² of x³ through `gradients(createGraph:)`, as WGAN-GP's penalty does.
  func testSecondOrderGradient() {
    let x = Tensor([2.0, -1.0]).requiringGrad()
    let y = x.pow(3).sum()
    let g = gradients(of: [y], wrt: [x], createGraph: true)[0]!
    XCTAssertEqual(g.doubles, [12, 3])
    XCTAssertTrue(g.requiresGrad)
    let gg = gradients(of: [g.sum()], wrt: [x])[0]!
    XCTAssertEqual(gg.doubles, [12, -6])
  }

  /// A gradient penalty: ||∇ₓ D(x)|| through linear + LeakyReLU + layer norm.
  func testGradientPenaltyIsDifferentiable() {
    let w = Tensor.randn([4, 3], dtype: .float64, generator: Generator(seed: 1)).requiringGrad()
    let x = Tensor.randn([5, 3], dtype: .float64, generator: Generator(seed: 2)).requiringGrad()
    func penalty(_ w: Tensor) -> Tensor {
      let d = layerNorm(linear(x, weight: w).leakyRelu(negativeSlope: 0.2), weight: nil, bias: nil)
        .tanh().sum()
      let gx = gradients(of: [d], wrt: [x], createGraph: true)[0]!
      return ((gx.square().sum(dim: 1) + 1e-12).sqrt() - 1).square().mean()
    }
    let r = GradCheck.check([w]) { penalty($0[0]) }
    XCTAssertTrue(r.passed, "\(r)")
  }

  func testViewsShareStorage() {
    let x = Tensor((0..<12).map { Float($0) }, shape: [3, 4])
    let t = x.T
    XCTAssertEqual(t.shape, [4, 3])
    XCTAssertFalse(t.isContiguous)
    XCTAssertEqual(t.contiguous().floats, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
    XCTAssertEqual(x.slice(dim: 1, start: 1, end: 4, step: 2).floats, [1, 3, 5, 7, 9, 11])
    XCTAssertEqual(x.select(dim: 0, index: -1).floats, [8, 9, 10, 11])
    XCTAssertEqual(x.reshape([2, -1]).shape, [2, 6])
    XCTAssertEqual(
      Tensor([Float(1), 2]).reshape([2, 1]).expand([2, 3]).floats, [1, 1, 1, 2, 2, 2])
    XCTAssertEqual(x.unsqueeze(1).shape, [3, 1, 4])
    XCTAssertEqual(x.unsqueeze(1).squeeze().shape, [3, 4])
    XCTAssertEqual(x.flatten().shape, [12])
  }

  func testReductionsAndSorting() {
    let x = Tensor([Float(3), 1, 4, 1, 5, 9, 2, 6], shape: [2, 4])
    XCTAssertEqual(x.sum(dim: 1).floats, [9, 22])
    XCTAssertEqual(x.sum(dim: 0).floats, [8, 10, 6, 7])
    XCTAssertEqual(x.mean().item(), 31.0 / 8, accuracy: 1e-6)
    XCTAssertEqual(x.argmax(dim: 1).int64s, [2, 1])
    let (v, i) = x.topk(2, dim: 1)
    XCTAssertEqual(v.floats, [4, 3, 9, 6])
    XCTAssertEqual(i.int64s, [2, 0, 1, 3])
    XCTAssertEqual(x.sort(dim: 1).values.floats, [1, 1, 3, 4, 2, 5, 6, 9])
    XCTAssertEqual(Tensor([Float(1), 2, 3, 4]).variance().item(), 5.0 / 3, accuracy: 1e-6)
  }

  func testSeededRandomnessIsReproducible() {
    manualSeed(42)
    let a = Tensor.randn([100])
    manualSeed(42)
    let b = Tensor.randn([100])
    XCTAssertEqual(a.floats, b.floats)
    let c = Tensor.randn([100])
    XCTAssertNotEqual(a.floats, c.floats)
    let mean = Tensor.randn([100_000], generator: Generator(seed: 3)).mean().item()
    XCTAssertEqual(mean, 0, accuracy: 0.02)
    let u = Tensor.rand([100_000], generator: Generator(seed: 4))
    XCTAssertGreaterThanOrEqual(u.min().item(), 0)
    XCTAssertLessThan(u.max().item(), 1)
    let bern = Tensor.bernoulli([100_000], p: 0.3, generator: Generator(seed: 5)).mean().item()
    XCTAssertEqual(bern, 0.3, accuracy: 0.01)
  }

  func testMultinomialFrequenciesMatchProbabilities() {
    let p = Tensor([Float(0.1), 0.0, 0.6, 0.3])
    let draws = p.multinomial(numSamples: 20_000, replacement: true, generator: Generator(seed: 6))
      .int64s
    var counts = [Int](repeating: 0, count: 4)
    for d in draws { counts[Int(d)] += 1 }
    XCTAssertEqual(counts[1], 0)
    XCTAssertEqual(Double(counts[2]) / 20_000, 0.6, accuracy: 0.015)
    XCTAssertEqual(Double(counts[3]) / 20_000, 0.3, accuracy: 0.015)
    let noRepeat = p.multinomial(numSamples: 3, generator: Generator(seed: 7)).int64s
    XCTAssertEqual(Set(noRepeat).count, 3)
    XCTAssertFalse(noRepeat.contains(1))
  }

  func testDTypeConversions() {
    let x = Tensor([Float(1.5), -2.25, 3e-3])
    XCTAssertEqual(x.to(.float64).doubles, [1.5, -2.25, Double(Float(3e-3))])
    XCTAssertEqual(x.to(.bfloat16).to(.float32).floats, [1.5, -2.25, 0.0030059814])
    XCTAssertEqual(x.to(.float16).to(.float32).floats, [1.5, -2.25, 0.0030002594])
    XCTAssertEqual(Tensor([Float(2.7), -1.2]).to(.int64).int64s, [2, -1])
    XCTAssertEqual(Tensor([Int64(3), 1]).oneHot(numClasses: 4).int64s, [0, 0, 0, 1, 0, 1, 0, 0])
  }
}
