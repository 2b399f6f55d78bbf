import Foundation
import LoomCore
import LoomIO
import XCTest

@testable import LoomDiffusion

/// DDPM / DDIM schedulers against diffusers, from scripts/fixtures/make_diffusion_fixtures.py.
final class SchedulerParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let expected = try! SafeTensorsFile(path: fixtures + "/schedulers-expected.safetensors")

  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  /// Absolute error ≤ tol, relative for entries above 1 in magnitude (float32 ulps grow with size).
  func assertClose(
    _ a: [Double], _ b: [Double], _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max error \(worst)", file: file, line: line)
    if ProcessInfo.processInfo.environment["LOOM_PRINT_PARITY"] != nil { print("parity \(what): \(worst)") }
  }

  func assertClose(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    assertClose(a.toArray(Double.self), b.toArray(Double.self), 1e-6, what, file: file, line: line)
  }

  func config(_ body: (inout SchedulerConfig) -> Void) -> SchedulerConfig {
    var c = SchedulerConfig()
    body(&c)
    return c
  }

  func testBetasAndAlphasCumprodMatchDiffusers() throws {
    let cases: [(String, SchedulerConfig)] = [
      ("linear", SchedulerConfig()),
      (
        "scaled_linear",
        config {
          $0.betaSchedule = .scaledLinear
          $0.betaStart = 0.00085
          $0.betaEnd = 0.012
        }
      ),
      ("squaredcos_cap_v2", config { $0.betaSchedule = .squaredcosCapV2 }),
      ("sigmoid", config { $0.betaSchedule = .sigmoid }),
      ("linear_zero_snr", config { $0.rescaleBetasZeroSnr = true }),
    ]
    for (name, c) in cases {
      let s = try DDPMScheduler(config: c)
      // Zero terminal SNR divides ᾱ_t by ᾱ_{t-1} near ᾱ = 0, where one float32 ulp of ᾱ moves the last βs by ~2e-6.
      let betaTolerance = c.rescaleBetasZeroSnr ? 1e-5 : 1e-6
      assertClose(
        s.schedule.betas.map(Double.init), try tensor("\(name).betas").toArray(Double.self), betaTolerance,
        "\(name) betas")
      assertClose(
        s.schedule.alphasCumprod.map(Double.init), try tensor("\(name).alphas_cumprod").toArray(Double.self), 1e-6,
        "\(name) alphas_cumprod")
    }
    // The cosine schedule's last β is capped at 0.999 and ᾱ falls to ~0.
    let cos = try DDPMScheduler(config: config { $0.betaSchedule = .squaredcosCapV2 })
    XCTAssertEqual(cos.schedule.betas.last!, 0.999, accuracy: 1e-7)
  }

  func testTimestepsOfEverySpacingMatchDiffusers() throws {
    for spacing in [TimestepSpacing.leading, .trailing, .linspace] {
      for steps in [10, 7, 1000] {
        let c = config {
          $0.timestepSpacing = spacing
          $0.stepsOffset = spacing == .leading && steps != 1000 ? 1 : 0
        }
        let schedulers: [any DiffusionScheduler] = try [DDIMScheduler(config: c), DDPMScheduler(config: c)]
        for s in schedulers {
          try s.setTimesteps(steps)
          XCTAssertEqual(
            s.timesteps, try tensor("timesteps.\(spacing.rawValue).\(steps)").toArray(Int64.self).map(Int.init),
            "\(spacing) \(steps)")
        }
      }
    }
  }

  func testPaperSubSequences() throws {
    let linear = try TimestepSpacing.linear.timesteps(steps: 4, trainSteps: 1000, stepsOffset: 0)
    XCTAssertEqual(linear, [750, 500, 250, 0])
    XCTAssertEqual(try TimestepSpacing.linear.timesteps(steps: 3, trainSteps: 10, stepsOffset: 1), [7, 4, 1])
    // c = 0.8·1000/9² ≈ 9.877: ⌊c·i²⌋ for i = 0…9.
    let quad = try TimestepSpacing.quadratic.timesteps(steps: 10, trainSteps: 1000, stepsOffset: 0)
    XCTAssertEqual(quad, [800, 632, 483, 355, 246, 158, 88, 39, 9, 0])
    // With c < 1 the first ⌊c·i²⌋ repeat 0; the repeats are dropped.
    let dense = try TimestepSpacing.quadratic.timesteps(steps: 50, trainSteps: 1000, stepsOffset: 0)
    XCTAssertEqual(dense.count, 49)
    XCTAssertEqual(dense.suffix(3), [2, 1, 0])
    XCTAssertEqual(Set(dense).count, dense.count)
    // DDIM over a sub-sequence steps to the next τ and ends on ᾱ = 1.
    let ddim = try DDIMScheduler(config: config { $0.timestepSpacing = .quadratic })
    try ddim.setTimesteps(10)
    XCTAssertEqual(try ddim.previousTimestep(632), 483)
    XCTAssertEqual(try ddim.previousTimestep(0), -1)
  }

  func testAddNoiseAndVelocityMatchDiffusers() throws {
    let s = try DDPMScheduler()
    let ts = try tensor("noise_timesteps").toArray(Int64.self).map(Int.init)
    let x0 = try tensor("x0")
    let noise = try tensor("noise")
    assertClose(try s.addNoise(x0, noise: noise, timesteps: ts), try tensor("add_noise"), "add_noise")
    assertClose(try s.getVelocity(x0, noise: noise, timesteps: ts), try tensor("velocity"), "get_velocity")
  }

  func testDDPMStepForEachPredictionTypeMatchesDiffusers() throws {
    let sample = try tensor("step.sample")
    let output = try tensor("step.model_output")
    var checked = 0
    for pred in PredictionType.allCases {
      for variance in VarianceType.allCases {
        for clip in [true, false] {
          let s = try DDPMScheduler(
            config: config {
              $0.predictionType = pred
              $0.varianceType = variance
              $0.clipSample = clip
              $0.clipSampleRange = 1.5
            })
          try s.setTimesteps(50)
          for t in [s.timesteps[10], s.timesteps.last!] {
            let key = "ddpm.\(pred.rawValue).\(variance.rawValue).\(clip ? 1 : 0).\(t)"
            let out = try s.step(output, timestep: t, sample: sample, varianceNoise: try tensor(key + ".noise"))
            assertClose(out.prevSample, try tensor(key + ".prev"), key + " prev_sample")
            assertClose(out.predOriginalSample, try tensor(key + ".x0"), key + " pred_original_sample")
            checked += 1
          }
        }
      }
    }
    XCTAssertEqual(checked, 24)
  }

  func testDDIMStepForEachPredictionTypeAndEtaMatchesDiffusers() throws {
    let sample = try tensor("step.sample")
    let output = try tensor("step.model_output")
    var checked = 0
    for pred in PredictionType.allCases {
      for eta in [0.0, 0.5, 1.0] {
        for one in [true, false] {
          let s = try DDIMScheduler(
            config: config {
              $0.predictionType = pred
              $0.setAlphaToOne = one
              $0.clipSample = false
              $0.timestepSpacing = .trailing
            })
          try s.setTimesteps(20)
          for t in [s.timesteps[5], s.timesteps.last!] {
            let key = "ddim.\(pred.rawValue).\(eta).\(one ? 1 : 0).\(t)"
            let out = try s.step(
              output, timestep: t, sample: sample, eta: eta, varianceNoise: try tensor(key + ".noise"))
            assertClose(out.prevSample, try tensor(key + ".prev"), key + " prev_sample")
            assertClose(out.predOriginalSample, try tensor(key + ".x0"), key + " pred_original_sample")
            checked += 1
          }
        }
      }
    }
    XCTAssertEqual(checked, 36)
  }
}
