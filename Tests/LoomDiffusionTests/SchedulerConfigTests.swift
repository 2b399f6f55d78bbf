import Foundation
import LoomCore
import XCTest

@testable import LoomDiffusion

/// scheduler_config.json as diffusers writes and reads it.
final class SchedulerConfigTests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

  func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "loom-scheduler-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  func testReadsDiffusersConfigs() throws {
    let ddpm = try XCTUnwrap(try loadScheduler(Self.fixtures + "/ddpm-scheduler") as? DDPMScheduler)
    XCTAssertEqual(ddpm.config.betaSchedule, .squaredcosCapV2)
    XCTAssertEqual(ddpm.config.predictionType, .vPrediction)
    XCTAssertEqual(ddpm.config.varianceType, .fixedLarge)
    let ddim = try XCTUnwrap(
      try loadScheduler(Self.fixtures + "/ddim-scheduler/scheduler_config.json") as? DDIMScheduler)
    XCTAssertEqual(ddim.config.betaSchedule, .scaledLinear)
    XCTAssertEqual(ddim.config.betaStart, 0.00085)
    XCTAssertEqual(ddim.config.timestepSpacing, .trailing)
    XCTAssertEqual(ddim.config.stepsOffset, 1)
    XCTAssertFalse(ddim.config.setAlphaToOne)
    XCTAssertFalse(ddim.config.clipSample)
    XCTAssertEqual(ddim.finalAlphaCumprod, ddim.schedule.alphasCumprod[0])
  }

  func testWritesWhatItReadsWithDiffusersKeys() throws {
    var c = SchedulerConfig()
    c.betaSchedule = .scaledLinear
    c.predictionType = .sample
    c.timestepSpacing = .linspace
    c.setAlphaToOne = false
    c.clipSampleRange = 2.5
    let dir = try temporaryDirectory()
    try DDIMScheduler(config: c).save(to: dir)
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/scheduler_config.json"))
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    XCTAssertEqual(json["_class_name"] as? String, "DDIMScheduler")
    XCTAssertEqual(json["_diffusers_version"] as? String, SchedulerConfig.diffusersVersion)
    XCTAssertEqual(json["beta_schedule"] as? String, "scaled_linear")
    XCTAssertNil(json["variance_type"], "DDIM's config has no variance_type")
    XCTAssertTrue(json["trained_betas"] is NSNull)
    let back = try XCTUnwrap(try loadScheduler(dir) as? DDIMScheduler)
    XCTAssertEqual(back.config, c)
  }

  func testUnknownKeysAreIgnoredLikeDiffusers() throws {
    let c = try SchedulerConfig(json: ["num_train_timesteps": 50, "some_future_key": [1, 2], "beta_end": 0.03])
    XCTAssertEqual(c.numTrainTimesteps, 50)
    XCTAssertEqual(c.betaEnd, 0.03)
  }

  func testBadValuesAreClearErrors() throws {
    func message(_ json: [String: Any]) -> String {
      do {
        _ = try SchedulerConfig(json: json)
        return "no error"
      } catch { return "\(error)" }
    }
    XCTAssertTrue(message(["beta_schedule": "cubic"]).contains("beta_schedule must be one of linear, scaled_linear"))
    XCTAssertTrue(message(["prediction_type": "noise"]).contains("prediction_type must be one of epsilon"))
    XCTAssertTrue(message(["num_train_timesteps": 0]).contains("num_train_timesteps must be in"))
    XCTAssertTrue(message(["num_train_timesteps": 2.5]).contains("num_train_timesteps must be an integer"))
    XCTAssertTrue(message(["clip_sample": "yes"]).contains("clip_sample must be true or false"))
    XCTAssertTrue(message(["thresholding": true]).contains("thresholding"))
    XCTAssertTrue(message(["trained_betas": [0.1, 0.2]]).contains("trained_betas must hold"))
    XCTAssertTrue(message(["beta_start": 0.5, "beta_end": 0.1]).contains("beta_start <= beta_end"))
    XCTAssertTrue(
      message(["num_train_timesteps": 1, "rescale_betas_zero_snr": true]).contains(
        "rescale_betas_zero_snr needs num_train_timesteps >= 2, got 1"))
    let dir = try temporaryDirectory()
    XCTAssertThrowsError(try loadScheduler(dir)) { XCTAssertTrue("\($0)".contains("no scheduler config at")) }
    try #"{"_class_name": "EulerDiscreteScheduler"}"#.write(
      toFile: dir + "/scheduler_config.json", atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try loadScheduler(dir)) {
      XCTAssertTrue("\($0)".contains("EulerDiscreteScheduler is not supported"))
    }
  }

  func testStepErrors() throws {
    let ddim = try DDIMScheduler()
    let x = Tensor.zeros([1, 1, 2, 2])
    XCTAssertThrowsError(try ddim.step(x, timestep: 10, sample: x)) { XCTAssertTrue("\($0)".contains("setTimesteps")) }
    try ddim.setTimesteps(10)
    XCTAssertThrowsError(try ddim.step(x, timestep: 901, sample: x, eta: 0.5)) {
      XCTAssertTrue("\($0)".contains("needs variance noise"))
    }
    XCTAssertThrowsError(try ddim.step(Tensor.zeros([1, 2, 2, 2]), timestep: 901, sample: x)) {
      XCTAssertTrue("\($0)".contains("must have one shape"))
    }
    XCTAssertThrowsError(try ddim.setTimesteps(1001)) { XCTAssertTrue("\($0)".contains("num_inference_steps 1001")) }
    XCTAssertThrowsError(try DDPMScheduler().addNoise(x, noise: x, timesteps: [1000])) {
      XCTAssertTrue("\($0)".contains("timestep 1000 is outside"))
    }
    XCTAssertThrowsError(try DDPMScheduler().addNoise(x, noise: x, timesteps: [1, 2])) {
      XCTAssertTrue("\($0)".contains("give one per item"))
    }
  }

  func testDDPMGeneratorStepIsSeeded() throws {
    let s = try DDPMScheduler()
    try s.setTimesteps(10)
    let x = Tensor.ones([1, 1, 2, 2])
    let e = Tensor.zeros([1, 1, 2, 2])
    let a = try s.step(e, timestep: 900, sample: x, generator: Generator(seed: 3)).prevSample.toArray(Float.self)
    let b = try s.step(e, timestep: 900, sample: x, generator: Generator(seed: 3)).prevSample.toArray(Float.self)
    let c = try s.step(e, timestep: 900, sample: x, generator: Generator(seed: 4)).prevSample.toArray(Float.self)
    XCTAssertEqual(a, b)
    XCTAssertNotEqual(a, c)
  }
}
