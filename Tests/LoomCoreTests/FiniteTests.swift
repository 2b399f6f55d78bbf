import LoomCore
import XCTest

/// `isAllFinite`: one NaN or infinity anywhere — past the first 1 Mi-element stretch, in a half type, in a
/// strided view — is found; finite tensors, empty ones and integer ones pass.
final class FiniteTests: XCTestCase {
  func testFindsANonFiniteValueAnywhere() {
    let count = (1 << 20) * 2 + 37
    for dtype in [DType.float32, .bfloat16, .float16] {
      for bad in [Double.nan, .infinity, -.infinity] {
        for position in [0, (1 << 20) + 5, count - 1] {
          var values = [Float](repeating: 0.5, count: count)
          values[position] = Float(bad)
          let t = Tensor(values, shape: [count]).to(dtype)
          XCTAssertFalse(t.isAllFinite(), "\(dtype) \(bad) at \(position)")
        }
      }
      XCTAssertTrue(
        Tensor.full([count], 65000, dtype: .float32).to(dtype).isAllFinite(), "\(dtype)")
    }
    let strided = Tensor([Float(1), .nan, 2, 3], shape: [2, 2]).transpose(0, 1)
    XCTAssertFalse(strided.isAllFinite())
    XCTAssertTrue(Tensor([Float](), shape: [0]).isAllFinite())
    XCTAssertTrue(Tensor([Int64(1), 2], shape: [2]).isAllFinite())
    // Large finite values whose sum overflows are still finite.
    XCTAssertTrue(Tensor([Float](repeating: 3e38, count: 8), shape: [8]).isAllFinite())
  }
}
