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

  /// The vectorized, pool-split uniform and Bernoulli fills give `Philox.forEachWord`'s words
  /// mapped as documented, for counts that end mid-block, mid-chunk and span several threads,
  /// from an offset that is not a multiple of four.
  func testUniformAndBernoulliFillsMatchTheScalarPhiloxStream() {
    for count in [1, 3, 65, 1000, 200_003] {
      let generator = Generator(seed: 0xDEAD_BEEF_1234)
      generator.state = [0xDEAD_BEEF_1234, 12_347]
      let uniform = Tensor.rand([count], low: -0.5, high: 1.5, generator: generator).toArray(Float.self)
      let offset = generator.offset
      let bernoulli = Tensor.bernoulli([count], p: 0.8, generator: generator).toArray(Float.self)
      var expectedUniform = [Float](repeating: 0, count: count)
      var expectedBernoulli = [Float](repeating: 0, count: count)
      Philox.forEachWord(seed: 0xDEAD_BEEF_1234, offset: 12_347, count: count) { i, w in
        expectedUniform[i] = -0.5 + 2 * (Float(w >> 8) * 0x1.0p-24)
      }
      Philox.forEachWord(seed: 0xDEAD_BEEF_1234, offset: offset, count: count) { i, w in
        expectedBernoulli[i] = Double(w) * 0x1.0p-32 < 0.8 ? 1 : 0
      }
      XCTAssertEqual(uniform, expectedUniform, "uniform, \(count) values")
      XCTAssertEqual(bernoulli, expectedBernoulli, "bernoulli, \(count) values")
      if count == 200_003 {
        let kept = bernoulli.reduce(0, +) / Float(count)
        XCTAssertEqual(kept, 0.8, accuracy: 0.005, "the share of ones should be p")
      }
    }
  }
}
