import LoomCore
import LoomNN
import XCTest

/// Finite-difference checks (float64) of the conv / pooling / norm layers, first and
/// second order (gradient penalties differentiate through them twice).
final class LayerGradCheckTests: XCTestCase {
  let gen = Generator(seed: 7)
  func leaf(_ shape: [Int]) -> Tensor {
    Tensor.randn(shape, dtype: .float64, generator: gen).requiringGrad()
  }

  func assertPasses(
    _ r: GradCheck.Result, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertTrue(r.passed, "\(what): \(r)", file: file, line: line)
  }

  func testConv2dGradients() {
    let x = leaf([2, 4, 5, 4])
    let w = leaf([6, 2, 3, 2])
    let b = leaf([6])
    let f: ([Tensor]) -> Tensor = {
      Functional.conv2d(
        $0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 1), dilation: (1, 2),
        groups: 2)
    }
    assertPasses(GradCheck.check([x, w, b], f), "conv2d")
    assertPasses(GradCheck.checkSecondOrder([x, w, b]) { f($0).tanh() }, "conv2d second order")
  }

  func testConvTranspose2dGradients() {
    let x = leaf([1, 4, 3, 3])
    let w = leaf([4, 3, 3, 2])
    let b = leaf([6])
    let f: ([Tensor]) -> Tensor = {
      Functional.convTranspose2d(
        $0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 0), outputPadding: (1, 0),
        groups: 2)
    }
    assertPasses(GradCheck.check([x, w, b], f), "convTranspose2d")
    assertPasses(
      GradCheck.checkSecondOrder([x, w, b]) { f($0).tanh() }, "convTranspose2d second order")
  }

  /// groups = 1 takes the GEMM + column-add (col2im) path, with padding, output padding
  /// and dilation; also the padded column gather/add ops it is built from.
  func testConvTranspose2dColumnAddGradients() {
    let x = leaf([2, 3, 3, 4])
    let w = leaf([3, 2, 3, 2])
    let b = leaf([2])
    let f: ([Tensor]) -> Tensor = {
      Functional.convTranspose2d(
        $0[0], weight: $0[1], bias: $0[2], stride: (2, 3), padding: (1, 1), outputPadding: (1, 2),
        dilation: (1, 2))
    }
    XCTAssertEqual(f([x, w, b]).shape, [2, 2, 6, 12])  // (in − 1)·s − 2p + d·(k − 1) + op + 1
    assertPasses(GradCheck.check([x, w, b], f), "convTranspose2d column add")
    assertPasses(
      GradCheck.checkSecondOrder([x, w, b]) { f($0).tanh() },
      "convTranspose2d column add second order")
    let index = Tensor([Int64]([2, -1, 0, 2, 4]), shape: [5])
    let base = leaf([3, 5])
    let src = leaf([3, 5])
    assertPasses(GradCheck.check([base]) { $0[0].takeColumns(padded: index) }, "takeColumns")
    assertPasses(
      GradCheck.check([base, src]) { $0[0].addColumns(padded: index, source: $0[1]) }, "addColumns")
    assertPasses(
      GradCheck.checkSecondOrder([base, src]) {
        ($0[0].addColumns(padded: index, source: $0[1]) * $0[0]).tanh()
      },
      "addColumns second order")
  }

  func testConv1dAndPoolingGradients() {
    let x = leaf([2, 3, 6, 5])
    assertPasses(GradCheck.check([x]) { MaxPool2d(2, stride: 1, padding: 1)($0[0]) }, "maxpool")
    assertPasses(GradCheck.check([x]) { AvgPool2d(3, stride: 2, padding: 1)($0[0]) }, "avgpool")
    assertPasses(GradCheck.check([x]) { Upsample(scaleFactor: 2)($0[0]) }, "upsample")
    assertPasses(
      GradCheck.checkSecondOrder([x]) { AvgPool2d(2)($0[0]).pow(2) }, "avgpool second order")
  }

  func testNormGradients() {
    let x = leaf([4, 6, 3, 2])
    assertPasses(
      GradCheck.check([x]) { GroupNorm(groups: 3, channels: 6, affine: false)($0[0]) }, "groupnorm")
    assertPasses(
      GradCheck.checkSecondOrder([x]) { GroupNorm(groups: 2, channels: 6, affine: false)($0[0]) },
      "groupnorm second order")
    assertPasses(GradCheck.check([x]) { BatchNorm2d(6, affine: false)($0[0]) }, "batchnorm")
    assertPasses(
      GradCheck.checkSecondOrder([x]) { BatchNorm2d(6, affine: false)($0[0]) },
      "batchnorm second order")
  }
}
