import LoomCore
import XCTest

@testable import LoomNN

/// float32 convolutions run on the backend's kernels (oneDNN on the CPU); float64 ones take the
/// patch-gather path, which LayerGradCheckTests checks against finite differences. Here each
/// geometry runs both ways from the same numbers: outputs, first-order gradients of every input,
/// and second-order gradients (a gradient penalty's, through `createGraph`) must agree.
final class ConvolutionBackendTests: XCTestCase {
  let gen = Generator(seed: 11)

  /// Runs `f` on float32 and float64 copies of `shapes`-shaped random inputs and compares.
  /// `expectedOp` is the float32 output's grad_fn: proof that the backend kernel ran.
  func assertMatchesPatchPath(
    _ what: String, _ shapes: [[Int]], expectedOp: String?, file: StaticString = #filePath, line: UInt = #line,
    _ f: ([Tensor]) -> Tensor
  ) {
    let base = shapes.map { Tensor.randn($0, dtype: .float64, generator: gen) }
    var outputs: [[[Double]]] = []
    for dtype in [DType.float32, .float64] {
      let inputs = base.map { $0.to(dtype).requiringGrad() }
      let y = f(inputs)
      if dtype == .float32, let expectedOp {
        XCTAssertEqual(y.gradFnName, expectedOp, "\(what): the float32 path", file: file, line: line)
      }
      if dtype == .float64 {
        XCTAssertFalse(y.gradFnName.hasPrefix("Convolution"), "\(what): float64 takes the patch path")
      }
      let r = Tensor.randn(y.shape, dtype: .float64, generator: Generator(seed: 3)).to(dtype)
      let loss = (y.tanh() * r).sum()
      let first = gradients(of: [loss], wrt: inputs, createGraph: true)
      // WGAN-GP's shape: the squared norm of the input gradient, differentiated again.
      let penalty = first[0]!.square().sum()
      let second = gradients(of: [penalty], wrt: Array(inputs.prefix(2)))
      outputs.append(
        [y.to(.float64).doubles] + first.map { $0!.to(.float64).doubles } + second.map { $0!.to(.float64).doubles })
    }
    let names = ["output"] + (0..<shapes.count).map { "grad \($0)" } + ["second-order grad 0", "second-order grad 1"]
    for (k, name) in names.enumerated() {
      let (a, b) = (outputs[0][k], outputs[1][k])
      XCTAssertEqual(a.count, b.count, "\(what) \(name): size", file: file, line: line)
      let scale = max(b.map(abs).max() ?? 0, 1)
      let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
      XCTAssertLessThan(err / scale, 2e-5, "\(what) \(name): float32 backend vs float64 patches", file: file, line: line)
    }
  }

  func testConv2dStrideDilationGroups() {
    assertMatchesPatchPath("conv2d s(2,1) p1 d(1,2) g2", [[2, 4, 5, 4], [6, 2, 3, 2], [6]], expectedOp: "ConvolutionBackward") {
      Functional.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 1), dilation: (1, 2), groups: 2)
    }
  }

  func testConv2dBatchOneAndUnevenSlices() {
    assertMatchesPatchPath("conv2d batch 1", [[1, 3, 7, 6], [5, 3, 3, 3], [5]], expectedOp: "ConvolutionBackward") {
      Functional.conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1))
    }
    // Batch 3 over the pool's slices; floor division leaves the last input row unread.
    assertMatchesPatchPath("conv2d batch 3 s2 no bias", [[3, 2, 7, 7], [4, 2, 2, 2]], expectedOp: "ConvolutionBackward") {
      Functional.conv2d($0[0], weight: $0[1], stride: (2, 2))
    }
  }

  /// 8+ input channels per group: oneDNN's blocked layouts and the reorders around them.
  func testBlockedLayoutShapes() {
    assertMatchesPatchPath("conv2d 16 channels", [[3, 16, 6, 5], [8, 16, 3, 3], [8]], expectedOp: "ConvolutionBackward") {
      Functional.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 1))
    }
    assertMatchesPatchPath(
      "convTranspose2d to 16 channels", [[2, 8, 3, 3], [8, 16, 4, 4]], expectedOp: "ConvolutionBackwardDataBackward"
    ) {
      Functional.convTranspose2d($0[0], weight: $0[1], stride: (2, 2), padding: (1, 1))
    }
  }

  func testDepthwiseConv2d() {
    assertMatchesPatchPath("depthwise conv2d", [[2, 4, 6, 6], [4, 1, 3, 3], [4]], expectedOp: "ConvolutionBackward") {
      Functional.conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1), groups: 4)
    }
  }

  func testConvTranspose2d() {
    assertMatchesPatchPath(
      "convTranspose2d s2 p1 op1", [[2, 3, 4, 3], [3, 2, 3, 3]], expectedOp: "ConvolutionBackwardDataBackward"
    ) {
      Functional.convTranspose2d($0[0], weight: $0[1], stride: (2, 2), padding: (1, 1), outputPadding: (1, 1))
    }
    assertMatchesPatchPath("convTranspose2d bias, groups 2", [[1, 4, 3, 3], [4, 3, 3, 2], [6]], expectedOp: nil) {
      Functional.convTranspose2d(
        $0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 0), outputPadding: (1, 0), groups: 2)
    }
    assertMatchesPatchPath(
      "convTranspose2d dilation, output padding", [[2, 3, 3, 4], [3, 2, 3, 2]],
      expectedOp: "ConvolutionBackwardDataBackward"
    ) {
      Functional.convTranspose2d(
        $0[0], weight: $0[1], stride: (2, 3), padding: (1, 1), outputPadding: (1, 2), dilation: (1, 2))
    }
    // DCGAN's first generator layer: 1×1 → 7×7.
    assertMatchesPatchPath("convTranspose2d from 1x1", [[2, 5, 1, 1], [5, 3, 7, 7]], expectedOp: "ConvolutionBackwardDataBackward") {
      Functional.convTranspose2d($0[0], weight: $0[1])
    }
  }

  func testConv1dLayer() {
    let layer = Conv1d(3, 4, kernelSize: 3, stride: 2, padding: 1, dilation: 2, generator: gen)
    let x = Tensor.randn([2, 3, 9], generator: gen)
    let y32 = layer(x)
    XCTAssertEqual(y32.shape, [2, 4, 4])
    let reference = layer.weight.detach().to(.float64)
    let y64 = Functional.conv2d(
      x.to(.float64).unsqueeze(2), weight: reference.unsqueeze(2), bias: layer.bias!.detach().to(.float64),
      stride: (1, 2), padding: (0, 1), dilation: (1, 2)
    ).squeeze(2)
    let err = zip(y32.to(.float64).doubles, y64.doubles).map { abs($0 - $1) }.max() ?? 1
    XCTAssertLessThan(err, 1e-5)
  }

  /// The emulated device reaches the kernels through its backend (copies to and from the host).
  func testEmulatedDeviceDelegates() {
    let x = Tensor.randn([2, 3, 5, 5], generator: gen), w = Tensor.randn([4, 3, 3, 3], generator: gen)
    let g = ConvolutionGeometry(batch: 2, inChannels: 3, height: 5, width: 5, outChannels: 4, kernel: (3, 3), padding: (1, 1))
    let onCPU = Tensor.convolution(x, weight: w, bias: nil, g)!
    let onDevice = Tensor.convolution(x.to(device: .emulated), weight: w.to(device: .emulated), bias: nil, g)!
    XCTAssertEqual(onDevice.device, .emulated)
    XCTAssertEqual(onDevice.to(device: .cpu).floats, onCPU.floats)
    let gx = Tensor.convolutionBackwardData(onDevice, weight: w.to(device: .emulated), g)!
    XCTAssertEqual(gx.shape, [2, 3, 5, 5])
    XCTAssertEqual(gx.to(device: .cpu).floats, Tensor.convolutionBackwardData(onCPU, weight: w, g)!.floats)
  }

  /// Shapes that do not match the geometry are declined (nil), never computed on wrong memory.
  func testMismatchedShapesAreDeclined() {
    let g = ConvolutionGeometry(batch: 2, inChannels: 3, height: 5, width: 5, outChannels: 4, kernel: (3, 3))
    XCTAssertEqual(g.outputShape, [2, 4, 3, 3])
    XCTAssertNil(Tensor.convolution(Tensor.zeros([2, 3, 6, 5]), weight: Tensor.zeros([4, 3, 3, 3]), bias: nil, g))
    XCTAssertNil(Tensor.convolution(Tensor.zeros([2, 3, 5, 5]), weight: Tensor.zeros([4, 2, 3, 3]), bias: nil, g))
    var empty = g
    empty.height = 2  // kernel larger than the padded input
    XCTAssertFalse(empty.isValid)
    XCTAssertNil(Tensor.convolutionBackwardWeights(Tensor.zeros([2, 3, 2, 5]), gradOutput: Tensor.zeros([2, 4, 0, 3]), empty))
  }
}
