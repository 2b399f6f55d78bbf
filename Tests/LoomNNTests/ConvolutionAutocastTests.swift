import LoomCore
import XCTest

@testable import LoomNN

/// torch's CPU autocast lists conv1d / conv2d / conv_transpose2d as lower-precision ops: under
/// `Autocast` Loom's convolutions round their inputs to the half type, accumulate in float32 and
/// return the half type; the float32 master weights get float32 gradients.
final class ConvolutionAutocastTests: XCTestCase {
  func testConvolutionsRunInTheHalfTypeUnderAutocast() {
    let gen = Generator(seed: 5)
    let conv = Conv2d(4, 8, kernelSize: 3, padding: 1, generator: gen)
    let transposed = ConvTranspose2d(8, 3, kernelSize: 4, stride: 2, padding: 1, generator: gen)
    let x = Tensor.randn([2, 4, 6, 6], generator: gen)
    for half in [DType.bfloat16, .float16] {
      let y = Autocast.run(dtype: half) { conv(x) }
      XCTAssertEqual(y.dtype, half)
      // The same numbers as the float32 kernel on rounded inputs, rounded once.
      let rounded = { (t: Tensor) in t.to(half).to(.float32) }
      let reference = Tensor.convolution(
        rounded(x), weight: rounded(conv.weight), bias: rounded(conv.bias!),
        ConvolutionGeometry(
          batch: 2, inChannels: 4, height: 6, width: 6, outChannels: 8, kernel: (3, 3), padding: (1, 1)))!
      XCTAssertEqual(y.to(.float32).floats, reference.to(half).to(.float32).floats)
      let z = Autocast.run(dtype: half) { transposed(y) }
      XCTAssertEqual(z.dtype, half)
      XCTAssertEqual(z.shape, [2, 3, 12, 12])
      z.to(.float32).square().sum().backward()
      for p in [conv.weight, conv.bias!, transposed.weight, transposed.bias!] {
        XCTAssertEqual(p.grad?.dtype, .float32, "master weights get float32 gradients")
        XCTAssertGreaterThan(p.grad!.abs().sum().item(), 0)
        p.grad = nil
      }
    }
    // Outside autocast nothing is rounded.
    XCTAssertEqual(conv(x).dtype, .float32)
  }
}
