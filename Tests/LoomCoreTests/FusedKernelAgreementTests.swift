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
