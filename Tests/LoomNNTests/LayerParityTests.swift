import Foundation
import LoomCore
import LoomIO
import LoomNN
import XCTest

/// Conv / pooling / norm layers against PyTorch
/// (fixtures from scripts/fixtures/make_nn_layer_fixtures.py).
final class LayerParityTests: XCTestCase {
  static let file: SafeTensorsFile = {
    let url = Bundle.module.url(forResource: "torch_layers", withExtension: "safetensors", subdirectory: "Fixtures")!
    return try! SafeTensorsFile(path: url.path)
  }()

  func load(_ key: String) -> Tensor { try! Self.file.tensor(key) }

  func maxError(_ a: Tensor, _ b: Tensor) -> Double {
    XCTAssertEqual(a.shape, b.shape)
    return zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
  }

  /// Loads the PyTorch state, runs forward and backward with the same probe, and
  /// returns the largest error over output, input gradient and parameter gradients.
  @discardableResult
  func check(_ name: String, _ module: Module, tol: Double, file: StaticString = #filePath, line: UInt = #line) -> Double {
    let prefix = "\(name).state."
    var state: [String: Tensor] = [:]
    for key in Self.file.names where key.hasPrefix(prefix) { state[String(key.dropFirst(prefix.count))] = load(key) }
    XCTAssertNoThrow(try module.loadStateDict(state), file: file, line: line)
    if name.hasSuffix("_eval") { module.eval() }
    let x = load("\(name).input").requiringGrad()
    let y = module(x)
    (y * load("\(name).probe")).sum().backward()
    var worst = maxError(y, load("\(name).output"))
    worst = max(worst, maxError(x.grad!, load("\(name).input_grad")))
    for (key, p) in module.namedParameters() {
      worst = max(worst, maxError(p.grad!, load("\(name).grad.\(key)")))
    }
    XCTAssertLessThanOrEqual(worst, tol, "\(name): max error \(worst)", file: file, line: line)
    print("parity \(name): max abs error \(worst)")
    return worst
  }

  func testConvolutionsMatchPyTorch() {
    check("conv2d", Conv2d(3, 4, kernelSize: 3, stride: 2, padding: 1), tol: 1e-5)
    check("conv2d_groups_dilation", Conv2d(4, 6, kernelSize: 3, padding: 2, dilation: 2, groups: 2), tol: 1e-5)
    check("conv1d", Conv1d(3, 5, kernelSize: 4, stride: 2, padding: 1), tol: 1e-5)
    check("convT2d", ConvTranspose2d(4, 3, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1), tol: 1e-5)
    check("convT2d_groups", ConvTranspose2d(4, 6, kernelSize: 2, stride: 2, groups: 2, bias: false), tol: 1e-5)
  }

  func testPoolingAndUpsampleMatchPyTorch() {
    check("maxpool", MaxPool2d(3, stride: 2, padding: 1), tol: 1e-5)
    check("avgpool", AvgPool2d(2), tol: 1e-5)
    check("upsample", Upsample(scaleFactor: 2), tol: 1e-5)
  }

  func testNormsMatchPyTorch() {
    let bn = BatchNorm2d(3)
    check("batchnorm2d_train", bn, tol: 1e-5)
    // Running statistics after one training step (unbiased variance, momentum 0.1).
    XCTAssertLessThanOrEqual(maxError(bn.runningMean, load("batchnorm2d_train.after.running_mean")), 1e-6)
    XCTAssertLessThanOrEqual(maxError(bn.runningVar, load("batchnorm2d_train.after.running_var")), 1e-6)
    XCTAssertEqual(bn.numBatchesTracked.item(), 1)
    check("batchnorm1d_eval", BatchNorm1d(5), tol: 1e-5)
    check("groupnorm", GroupNorm(groups: 2, channels: 6), tol: 1e-5)
  }

  func testConvBlockMatchesPyTorch() {
    let block = Sequential(
      Conv2d(1, 8, kernelSize: 3, padding: 1), BatchNorm2d(8), ReLU(), MaxPool2d(2),
      Conv2d(8, 16, kernelSize: 3, stride: 2, padding: 1), GroupNorm(groups: 4, channels: 16), SiLU(),
      ConvTranspose2d(16, 8, kernelSize: 4, stride: 2, padding: 1), ReLU(), Upsample(scaleFactor: 2),
      Conv2d(8, 1, kernelSize: 3, padding: 1), Sigmoid())
    XCTAssertEqual(Set(block.stateDict().keys), Set(Self.file.names.filter { $0.hasPrefix("block.state.") }.map { String($0.dropFirst(12)) }))
    check("block", block, tol: 1e-4)
    XCTAssertLessThanOrEqual(maxError(
      (block.namedBuffers().first { $0.0 == "1.running_var" }!.1), load("block.after.1.running_var")), 1e-5)
  }

  func testConvShapesAndParameterCounts() {
    let conv = Conv2d(3, 16, kernelSize: 3)
    XCTAssertEqual(conv.parameterCount(), 16 * 3 * 9 + 16)
    XCTAssertEqual(conv(Tensor.zeros([2, 3, 28, 28])).shape, [2, 16, 26, 26])
    let up = ConvTranspose2d(16, 8, kernelSize: 4, stride: 2, padding: 1)
    XCTAssertEqual(up(Tensor.zeros([1, 16, 7, 7])).shape, [1, 8, 14, 14])
    XCTAssertEqual(Unflatten(dim: 1, sizes: [1, 28, 28])(Tensor.zeros([4, 784])).shape, [4, 1, 28, 28])
    XCTAssertEqual(Set(BatchNorm2d(4).stateDict().keys), ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
    XCTAssertEqual(BatchNorm2d(4).parameterCount(), 8)
  }
}
