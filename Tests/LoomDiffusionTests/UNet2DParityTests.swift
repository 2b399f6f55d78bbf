import Foundation
import LoomCore
import LoomIO
import LoomNN
import XCTest

@testable import LoomDiffusion

/// UNet2DModel against diffusers on tiny random saves from scripts/fixtures/make_unet2d_fixtures.py.
final class UNet2DParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let expected = try! SafeTensorsFile(path: fixtures + "/unet2d-expected.safetensors")

  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
    if ProcessInfo.processInfo.environment["LOOM_PRINT_PARITY"] != nil { print("parity \(what): \(worst)") }
  }

  /// `gradPrefixes`: the parameters whose gradients the fixture stores (nil: all of them).
  func checkForwardLossAndGradients(_ name: String, labels: Tensor?, gradPrefixes: [String]? = nil) throws {
    let unet = try UNet2DModel.from(directory: Self.fixtures + "/" + name)
    let ts = try tensor("timesteps").toArray(Int64.self).map(Int.init)
    let out = try unet(try tensor("sample"), timesteps: ts, classLabels: labels)
    assertClose(out, try tensor("\(name).out"), 1e-4, "\(name) forward")
    let loss = Loss.mse(out, try tensor("target"))
    assertClose(loss.reshape([1]), try tensor("\(name).loss"), 1e-5, "\(name) loss")
    loss.backward()
    let params = unet.namedParameters().filter { p in gradPrefixes?.contains { p.0.hasPrefix($0) } ?? true }
    XCTAssertGreaterThan(params.count, gradPrefixes == nil ? 50 : 10)
    for (key, p) in params {
      let g = try XCTUnwrap(p.grad, "\(key) has no gradient")
      assertClose(g, try tensor("\(name).grad.\(key)"), 1e-4, "\(name) grad \(key)")
    }
  }

  func testForwardLossAndEveryGradientMatchDiffusers() throws {
    try checkForwardLossAndGradients("unet2d-tiny", labels: nil)
  }

  func testClassConditionalMatchesDiffusers() throws {
    try checkForwardLossAndGradients(
      "unet2d-tiny-cls", labels: try tensor("class_labels"),
      gradPrefixes: ["class_embedding", "time_embedding", "down_blocks.0.resnets.0"])
  }

  func testSaveLoadsBackWithDiffusersNames() throws {
    let unet = try UNet2DModel.from(directory: Self.fixtures + "/unet2d-tiny")
    let dir = NSTemporaryDirectory() + "loom-unet-\(UUID().uuidString)"
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    try unet.save(to: dir)
    // Same keys as diffusers' file, same outputs after reloading.
    let theirs = Set(try SafeTensors.load(Self.fixtures + "/unet2d-tiny/" + UNet2DModel.weightsName).keys)
    XCTAssertEqual(Set(try SafeTensors.load(dir + "/" + UNet2DModel.weightsName).keys), theirs)
    let back = try UNet2DModel.from(directory: dir)
    XCTAssertEqual(back.config, unet.config)
    let x = try tensor("sample")
    assertClose(try back(x, timesteps: [3]), try unet(x, timesteps: [3]), 0, "reloaded forward")
    if let keep = ProcessInfo.processInfo.environment["LOOM_KEEP_UNET_EXPORT"] { try unet.save(to: keep) }
  }

  func testBadInputsAreClearErrors() throws {
    let unet = try UNet2DModel.from(directory: Self.fixtures + "/unet2d-tiny")
    let cls = try UNet2DModel.from(directory: Self.fixtures + "/unet2d-tiny-cls")
    func message(_ body: () throws -> Any) -> String {
      do {
        _ = try body()
        return "no error"
      } catch { return "\(error)" }
    }
    XCTAssertTrue(
      message { try unet(Tensor.zeros([1, 3, 15, 16]), timesteps: [1]) }.contains("must be a multiple of 2"))
    XCTAssertTrue(
      message { try unet(Tensor.zeros([1, 1, 16, 16]), timesteps: [1]) }.contains("expects samples [N, 3, H, W]"))
    XCTAssertTrue(
      message { try cls(Tensor.zeros([1, 3, 16, 16]), timesteps: [1], classLabels: Tensor([Int64(5)], shape: [1])) }
        .contains("class label 5 is out of range 0..<5"))
    XCTAssertTrue(message { try cls(Tensor.zeros([1, 3, 16, 16]), timesteps: [1]) }.contains("pass class labels"))
    XCTAssertTrue(
      message { try unet(Tensor.zeros([1, 3, 16, 16]), timesteps: [1], classLabels: Tensor([Int64(0)], shape: [1])) }
        .contains("no class embedding"))
    let dir = NSTemporaryDirectory() + "loom-unet-\(UUID().uuidString)"
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: Self.fixtures + "/unet2d-tiny/config.json", toPath: dir + "/config.json")
    XCTAssertTrue(message { try UNet2DModel.from(directory: dir) }.contains("missing UNet2DModel weights"))
    XCTAssertTrue(message { try UNet2DModel.from(directory: dir + "/nowhere") }.contains("no UNet2DModel config"))
    var c = UNet2DConfig()
    c.blockOutChannels = [32, 64]
    c.downBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D"]
    c.upBlockTypes = ["UpBlock2D", "UpBlock2D"]
    XCTAssertTrue(message { try UNet2DModel(c) }.contains("CrossAttnDownBlock2D is not supported"))
    c.downBlockTypes = ["DownBlock2D", "DownBlock2D"]
    c.sampleSize = [30, 31]
    XCTAssertTrue(message { try UNet2DModel(c) }.contains("cannot be halved 1 times"))
  }
}

/// A whole DDIM (η = 0) sampling run against diffusers' DDIMPipeline from the same noise.
final class DDIMPipelineParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  func testTenStepDDIMSamplingMatchesDiffusersPipeline() throws {
    let fixtures = UNet2DParityTests.fixtures
    let unet = try UNet2DModel.from(directory: fixtures + "/unet2d-tiny")
    let scheduler = try XCTUnwrap(try loadScheduler(fixtures + "/ddim-pipeline-scheduler") as? DDIMScheduler)
    let images = try DDIMPipeline(unet: unet, scheduler: scheduler)(
      noise: try UNet2DParityTests.expected.tensor("ddim.noise"), numInferenceSteps: 10)
    let expected = try UNet2DParityTests.expected.tensor("ddim.images")
    XCTAssertEqual(images.shape, expected.shape)
    let worst = zip(images.toArray(Double.self), expected.toArray(Double.self)).map { abs($0 - $1) }.max()!
    XCTAssertLessThanOrEqual(worst, 1e-4, "DDIM images: max abs error \(worst)")
    XCTAssertEqual(scheduler.timesteps, [900, 800, 700, 600, 500, 400, 300, 200, 100, 0])
  }
}

/// The diffusers pipeline folder (model_index.json, scheduler/, unet/).
final class PipelineDirectoryTests: XCTestCase {
  func testSavesAndLoadsThePipelineLayout() throws {
    let fixtures = UNet2DParityTests.fixtures
    let scheduler = try XCTUnwrap(try loadScheduler(fixtures + "/ddim-pipeline-scheduler") as? DDIMScheduler)
    let pipe = DDIMPipeline(unet: try UNet2DModel.from(directory: fixtures + "/unet2d-tiny"), scheduler: scheduler)
    let dir = NSTemporaryDirectory() + "loom-pipeline-\(UUID().uuidString)"
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    try pipe.save(to: dir)
    // For scripts/fixtures/check_diffusion_pipeline_export.py (diffusers loads Loom's folder).
    if let keep = ProcessInfo.processInfo.environment["LOOM_KEEP_PIPELINE_EXPORT"] { try pipe.save(to: keep) }
    for file in [
      "model_index.json", "scheduler/scheduler_config.json", "unet/config.json",
      "unet/diffusion_pytorch_model.safetensors",
    ] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file), file)
    }
    let back = try DDIMPipeline.from(directory: dir)
    XCTAssertEqual(back.scheduler.config, scheduler.config)
    let noise = try UNet2DParityTests.expected.tensor("ddim.noise")
    XCTAssertEqual(
      try back(noise: noise, numInferenceSteps: 3).toArray(Float.self),
      try pipe(noise: noise, numInferenceSteps: 3).toArray(Float.self))

    try FileManager.default.removeItem(atPath: dir + "/unet/diffusion_pytorch_model.safetensors")
    XCTAssertThrowsError(try DDIMPipeline.from(directory: dir)) {
      XCTAssertTrue("\($0)".contains("missing UNet2DModel weights"), "\($0)")
    }
    try FileManager.default.removeItem(atPath: dir + "/unet")
    XCTAssertThrowsError(try DDIMPipeline.from(directory: dir)) {
      XCTAssertTrue("\($0)".contains("missing pipeline component folder"), "\($0)")
    }
    XCTAssertThrowsError(try DDIMPipeline.from(directory: dir + "/unet")) {
      XCTAssertTrue("\($0)".contains("no model_index.json"), "\($0)")
    }
    XCTAssertThrowsError(try pipe(noise: Tensor.zeros([1, 1, 16, 16]))) {
      XCTAssertTrue("\($0)".contains("noise must be [N, 3, H, W]"), "\($0)")
    }
  }
}
