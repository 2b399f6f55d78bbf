import Foundation
import LoomCore
import LoomIO
import LoomNN
import XCTest

@testable import LoomDiffusion

/// EMA and the training loss against diffusers (scripts/fixtures/make_diffusion_training_fixtures.py).
final class DiffusionTrainingParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let expected = try! SafeTensorsFile(
    path: UNet2DParityTests.fixtures + "/diffusion-training-expected.safetensors")
  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func checkEMA(_ name: String, make: (Module) throws -> EMAModel) throws {
    let linear = Linear(3, 2, generator: Generator(seed: 0))
    func set(_ prefix: String) throws {
      try linear.loadStateDict(["weight": try tensor("\(prefix).weight"), "bias": try tensor("\(prefix).bias")])
    }
    try set("\(name).init")
    let ema = try make(linear)
    let decays = try tensor("\(name).decays").toArray(Double.self)
    for k in 0..<6 {
      try set("\(name).step\(k).param")
      try ema.step(linear)
      XCTAssertEqual(try XCTUnwrap(ema.curDecayValue), decays[k], accuracy: 1e-12, "\(name) decay at step \(k)")
      for p in ["weight", "bias"] {
        assertClose(ema.stateDict[p]!, try tensor("\(name).step\(k).shadow.\(p)"), 1e-6, "\(name) step \(k) \(p)")
      }
    }
    XCTAssertEqual(ema.optimizationStep, 6)
    // copy_to puts the averages into a model.
    try ema.copy(to: linear)
    assertClose(linear.weight, try tensor("\(name).step5.shadow.weight"), 1e-6, "\(name) copy_to")
  }

  func testEMAMatchesDiffusersDefaultRule() throws {
    try checkEMA("ema") { try EMAModel($0, decay: 0.999, updateAfterStep: 1) }
    // The rule itself: 0 (a copy) until update_after_step + 1, then min(decay, (1 + s)/(10 + s)).
    let ema = try EMAModel(Linear(1, 1), decay: 0.9999)
    XCTAssertEqual(ema.decay(at: 1), 0)
    XCTAssertEqual(ema.decay(at: 2), 2.0 / 11.0, accuracy: 1e-15)
    XCTAssertEqual(ema.decay(at: 1_000_000), 0.9999)
  }

  func testEMAMatchesDiffusersWarmup() throws {
    try checkEMA("ema_warmup") { try EMAModel($0, decay: 0.9999, useEmaWarmup: true, invGamma: 1, power: 0.75) }
  }

  func checkLoss(_ unetName: String, _ prediction: PredictionType, schedule: BetaSchedule) throws {
    let unet = try UNet2DModel.from(directory: UNet2DParityTests.fixtures + "/" + unetName)
    var config = SchedulerConfig()
    config.predictionType = prediction
    config.betaSchedule = schedule
    let scheduler = try DDPMScheduler(config: config)
    let key = "\(unetName).\(prediction.rawValue)"
    let timesteps = try tensor("timesteps").toArray(Int64.self).map(Int.init)
    let labels = unetName.hasSuffix("cls") ? try tensor("class_labels") : nil
    let clean = try tensor("clean")
    let noise = try tensor("noise")
    assertClose(
      try DiffusionLoss.target(prediction, scheduler: scheduler, clean: clean, noise: noise, timesteps: timesteps),
      try tensor("\(key).target"), 1e-6, "\(key) target")
    let (loss, _) = try DiffusionLoss.compute(
      model: { try unet.denoise($0, timesteps: $1, classLabels: $2) }, scheduler: scheduler, clean: clean,
      noise: noise, timesteps: timesteps, classLabels: labels)
    assertClose(loss.reshape([1]), try tensor("\(key).loss"), 1e-5, "\(key) loss")
    loss.backward()
    let params = Dictionary(uniqueKeysWithValues: unet.namedParameters())
    let stored = Self.expected.names.filter { $0.hasPrefix("\(key).grad.") }
    XCTAssertGreaterThan(stored.count, 10)
    for name in stored {
      let p = try XCTUnwrap(params[String(name.dropFirst("\(key).grad.".count))], name)
      assertClose(try XCTUnwrap(p.grad, "\(name): no gradient"), try tensor(name), 1e-4, name)
    }
  }

  func testEpsilonLossAndGradientsMatchDiffusers() throws {
    try checkLoss("unet2d-tiny", .epsilon, schedule: .linear)
    try checkLoss("unet2d-tiny-cls", .epsilon, schedule: .linear)
  }

  func testVPredictionLossAndGradientsMatchDiffusers() throws {
    try checkLoss("unet2d-tiny", .vPrediction, schedule: .squaredcosCapV2)
    try checkLoss("unet2d-tiny-cls", .vPrediction, schedule: .squaredcosCapV2)
  }
}
