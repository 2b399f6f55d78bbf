import Foundation
import LoomCore
import XCTest

@testable import LoomNN

/// A custom container: torchsummary lists it after its children.
final class ConvBlock: Module {
  @Child var conv: Conv2d
  @Child var bn: BatchNorm2d
  @Child var relu = ReLU()
  init(_ cin: Int, _ cout: Int) {
    conv = Conv2d(cin, cout, kernelSize: 3, padding: 1)
    bn = BatchNorm2d(cout)
    super.init()
  }
  override func forward(_ x: Tensor) -> Tensor { relu(bn(conv(x))) }
}

/// One Linear applied twice: two rows, its parameters counted once in the totals.
final class SharedTwice: Module {
  @Child var first: Linear
  @Child var second: Linear
  override init() {
    let shared = Linear(4, 4)
    first = shared
    second = shared
    super.init()
  }
  override func forward(_ x: Tensor) -> Tensor { second(first(x).relu()) }
}

/// Expected tables come from pip's torchsummary (scripts/fixtures/summary.py).
final class SummaryTests: XCTestCase {
  func expected(_ name: String) throws -> String {
    let url = Bundle.module.url(
      forResource: name, withExtension: "txt", subdirectory: "Fixtures/summary")!
    return try String(contentsOf: url, encoding: .utf8)
  }

  func testAutoencoderTableMatchesTorchsummary() throws {
    let ae = TinyAutoencoder()
    let s = try summary(ae, inputShape: [784])
    XCTAssertEqual(s.totalParameters, 224_601)
    XCTAssertEqual(s.trainableParameters, 224_601)
    XCTAssertEqual(s.rows.count, 19)
    XCTAssertEqual(s.rows.first?.path, "encoder.0")
    XCTAssertEqual(s.rows.last?.path, "decoder.9")
    XCTAssertEqual(s.rows.last?.type, "Sigmoid")
    XCTAssertEqual(s.rows[9].name, "Linear-10")
    XCTAssertEqual(s.rows[9].outputShape, [-1, 18])
    XCTAssertEqual(s.rows.map(\.parameters).reduce(0, +), ae.parameterCount())
    XCTAssertEqual(s.render(), try expected("autoencoder"))
    XCTAssertEqual("\(s)", s.render())
    XCTAssertFalse(ForwardHooks.isActive)
  }

  func testFrozenEncoderIsNonTrainable() throws {
    let ae = TinyAutoencoder()
    ae.encoder.freeze()
    let s = try ModelSummary(model: ae, inputShape: [784])
    XCTAssertEqual(s.trainableParameters, ae.decoder.parameterCount())
    XCTAssertEqual(s.nonTrainableParameters, ae.encoder.parameterCount())
    XCTAssertEqual(s.rows[0].trainableParameters, 0)
    XCTAssertEqual(s.rows[9].trainableParameters, s.rows[9].parameters)
    XCTAssertEqual(s.render(), try expected("autoencoder_frozen_encoder"))
  }

  func testConvModelWithBatchSizeMatchesTorchsummaryAndLeavesStateAlone() throws {
    let model = Sequential(
      ConvBlock(1, 8), MaxPool2d(2), ConvBlock(8, 16), MaxPool2d(2), Flatten(),
      Linear(16 * 7 * 7, 10))
    let block = model.layers[0] as! ConvBlock
    let before = block.bn.runningMean.toArray(Float.self)
    manualSeed(7)
    let s = try summary(model, inputShape: [1, 28, 28], batchSize: 16)
    XCTAssertEqual(s.render(), try expected("conv_batch16"))
    XCTAssertEqual(s.rows.map(\.path)[..<4], ["0.conv", "0.bn", "0.relu", "0"])
    // Evaluation mode during the pass (running statistics untouched), mode restored,
    // and the global random stream not consumed.
    XCTAssertEqual(block.bn.runningMean.toArray(Float.self), before)
    XCTAssertTrue(block.bn.training)
    let after = Tensor.rand([3]).toArray(Float.self)
    manualSeed(7)
    XCTAssertEqual(after, Tensor.rand([3]).toArray(Float.self))
  }

  func testSharedModuleIsCountedOnceInTotals() throws {
    let m = SharedTwice()
    let s = try summary(m, inputShape: [4])
    XCTAssertEqual(s.rows.map(\.name), ["Linear-1", "Linear-2"])
    XCTAssertEqual(s.rows.map(\.path), ["first", "first"])
    XCTAssertEqual(s.rows.map(\.parameters), [20, 20])
    XCTAssertEqual(s.totalParameters, 20)
    XCTAssertTrue(s.render().contains("Total params: 20\n"))
    // 2 × (4 + 4) outputs × 4 bytes, in MiB; params 20 × 4 bytes.
    XCTAssertEqual(s.forwardBackwardSizeMB, 64.0 / 1_048_576, accuracy: 1e-15)
    XCTAssertEqual(s.parametersSizeMB, 80.0 / 1_048_576, accuracy: 1e-15)
  }

  func testBadInputShapeThrows() {
    XCTAssertThrowsError(try summary(TinyAutoencoder(), inputShape: [])) { error in
      XCTAssertTrue("\(error)".contains("input shape"), "\(error)")
    }
    XCTAssertThrowsError(try summary(TinyAutoencoder(), inputShape: [0, 784]))
  }

  func testThousandsSeparators() {
    XCTAssertEqual(ModelSummary.grouped(0), "0")
    XCTAssertEqual(ModelSummary.grouped(999), "999")
    XCTAssertEqual(ModelSummary.grouped(1000), "1,000")
    XCTAssertEqual(ModelSummary.grouped(124_439_808), "124,439,808")
  }
}
