import LoomCore
import XCTest

/// `fillNormal` (torch's `normal_`, used by model initialisation) writes in place exactly
/// the values `Tensor.randn` draws from the same generator state, for odd counts (the last
/// Box–Muller pair half used) and float64 too, and advances the generator alike.
final class RandomFillTests: XCTestCase {
  func testFillNormalEqualsRandn() {
    for (count, dtype) in [(1, DType.float32), (7, .float32), (1001, .float32), (7, .float64)] {
      let a = Generator(seed: 42), b = Generator(seed: 42)
      let expected = Tensor.randn([count], mean: 0.5, std: 0.02, dtype: dtype, generator: a)
      let t = Tensor.zeros([count], dtype: dtype)
      t.fillNormal(mean: 0.5, std: 0.02, generator: b)
      XCTAssertEqual(t.toArray(Double.self), expected.toArray(Double.self), "\(count) \(dtype)")
      XCTAssertEqual(a.state, b.state, "the generator should advance by \(count) draws")
    }
  }

  func testFillNormalOnAViewWritesOnlyTheView() {
    let t = Tensor.zeros([4, 3])
    t[1..., 1].fillNormal(generator: Generator(seed: 1))
    let values = t.toArray(Float.self)
    XCTAssertEqual(values.enumerated().filter { $0.element != 0 }.map(\.offset), [4, 7, 10])
  }
}
