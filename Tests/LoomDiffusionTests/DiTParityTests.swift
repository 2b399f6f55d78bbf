import Foundation
import LoomCore
import LoomIO
import LoomNN
import XCTest

@testable import LoomDiffusion

/// DiTTransformer2DModel against diffusers on a tiny learn_sigma save (scripts/fixtures/make_dit_fixtures.py).
final class DiTParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let expected = try! SafeTensorsFile(path: UNet2DParityTests.fixtures + "/dit-expected.safetensors")
  static let directory = UNet2DParityTests.fixtures + "/dit-tiny"
  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func testPositionsForwardLossAndEveryGradientMatchDiffusers() throws {
    let dit = try DiTTransformer2DModel.from(directory: Self.directory)
    XCTAssertTrue(dit.config.learnSigma)
    assertClose(dit.posEmbed.posEmbed.reshape([16, 16]), try tensor("pos_embed"), 1e-6, "2-D sin-cos positions")
    let ts = try tensor("timesteps").toArray(Int64.self).map(Int.init)
    let out = try dit(try tensor("sample"), timesteps: ts, classLabels: try tensor("class_labels"))
    assertClose(out, try tensor("out"), 1e-4, "forward")
    let loss = Loss.mse(out, try tensor("target"))
    assertClose(loss.reshape([1]), try tensor("loss"), 1e-5, "loss")
    loss.backward()
    let params = dit.namedParameters()
    XCTAssertEqual(Set(params.map { "grad." + $0.0 }), Set(Self.expected.names.filter { $0.hasPrefix("grad.") }))
    for (key, p) in params {
      assertClose(try XCTUnwrap(p.grad, "\(key) has no gradient"), try tensor("grad.\(key)"), 1e-4, "grad \(key)")
    }
  }

  func testDenoiseDropsTheLearnedSigmaChannelsAndSavesWithDiffusersNames() throws {
    let dit = try DiTTransformer2DModel.from(directory: Self.directory)
    let x = try tensor("sample")
    let labels = try tensor("class_labels")
    let eps = try dit.denoise(x, timesteps: [10, 700], classLabels: labels)
    XCTAssertEqual(eps.shape, [2, 2, 8, 8])
    assertClose(eps, try tensor("out").split([2, 2], dim: 1)[0], 1e-4, "ε channels")
    XCTAssertEqual(dit.classEmbeddingRows, 6)
    let dir = NSTemporaryDirectory() + "loom-dit-\(UUID().uuidString)"
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    try dit.save(to: dir)
    let theirs = Set(try SafeTensors.load(Self.directory + "/" + DiTTransformer2DModel.weightsName).keys)
    XCTAssertEqual(Set(try SafeTensors.load(dir + "/" + DiTTransformer2DModel.weightsName).keys), theirs)
    let back = try DiTTransformer2DModel.from(directory: dir)
    XCTAssertEqual(back.config, dit.config)
    assertClose(
      try back.denoise(x, timesteps: [3], classLabels: labels), try dit.denoise(x, timesteps: [3], classLabels: labels),
      0, "reloaded")
  }

  func testFreshModelIsAdaLNZeroAndBadInputsAreClearErrors() throws {
    var c = DiTConfig()
    (c.numAttentionHeads, c.attentionHeadDim, c.inChannels, c.numLayers, c.sampleSize, c.numEmbedsAdaNorm) = (
      2, 8, 1, 1, 8, 10
    )
    let dit = try DiTTransformer2DModel(c, generator: Generator(seed: 1))
    XCTAssertEqual(dit.transformerBlocks[0].norm1.linear.weight.abs().sum().item(), 0)
    let x = Tensor.randn([2, 1, 8, 8], generator: Generator(seed: 2))
    // Zero output projection: the fresh model predicts zero.
    let out = try dit.denoise(x, timesteps: [5], classLabels: Tensor([Int64(0), 10]))
    XCTAssertEqual(out.abs().sum().item(), 0)
    func message(_ body: () throws -> Any) -> String {
      do {
        _ = try body()
        return "no error"
      } catch { return "\(error)" }
    }
    XCTAssertTrue(
      message { try dit.denoise(x, timesteps: [5], classLabels: Tensor([Int64(0), 11])) }.contains(
        "class label 11 is out of range 0...10"))
    XCTAssertTrue(message { try dit.denoise(x, timesteps: [5], classLabels: nil) }.contains("pass class labels"))
    XCTAssertTrue(
      message { try dit.denoise(Tensor.zeros([1, 1, 6, 6]), timesteps: [5], classLabels: Tensor([Int64(0)])) }.contains(
        "[N, 1, 8, 8]"))
    c.sampleSize = 9
    XCTAssertTrue(message { try DiTTransformer2DModel(c) }.contains("multiple of patch_size 2"))
    c.sampleSize = 8
    c.outChannels = 3
    XCTAssertTrue(message { try DiTTransformer2DModel(c) }.contains("learn_sigma"))
  }
}
