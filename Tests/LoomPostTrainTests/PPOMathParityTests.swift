import Foundation
import LoomCore
import LoomIO
import XCTest

@testable import LoomPostTrain

/// PPO's core math against trl's formulas on a fixed rollout (scripts/fixtures/make_ppo_fixtures.py).
final class PPOMathParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let expected = try! SafeTensorsFile(path: fixtures + "/ppo/ppo-math.safetensors")

  func tensor(_ key: String) throws -> Tensor { try Self.expected.tensor(key) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ what: String, tol: Double = 1e-5, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func config(_ name: String) -> PPOConfig {
    var c = PPOConfig()
    if name == "k3w" {
      c.klEstimator = .k3
      c.klCoef = 0.1
      c.whitenRewards = true
      c.gamma = 0.99
      c.lam = 0.9
      c.cliprange = 0.1
      c.cliprangeValue = 0.1
      c.vfCoef = 0.5
    }
    return c
  }

  func testDefaultsAreTrls() {
    let c = PPOConfig()
    XCTAssertEqual(c.klCoef, 0.05)
    XCTAssertEqual(c.klEstimator, .k1)
    XCTAssertEqual(c.cliprange, 0.2)
    XCTAssertEqual(c.cliprangeValue, 0.2)
    XCTAssertEqual(c.vfCoef, 0.1)
    XCTAssertEqual(c.gamma, 1.0)
    XCTAssertEqual(c.lam, 0.95)
    XCTAssertEqual(c.numPpoEpochs, 4)
    XCTAssertEqual(c.numMiniBatches, 1)
    XCTAssertFalse(c.whitenRewards)
    XCTAssertEqual(c.responseLength, 53)
    XCTAssertEqual(c.temperature, 0.7)
  }

  func testRolloutTargetsLossesClipFractionsAndGradientsMatchTrl() throws {
    let lengths = try tensor("rollout.sequence_lengths").toArray(Int64.self).map { Int($0) }
    for name in ["k1", "k3w"] {
      let c = config(name)
      let targets = try PPOMath.rolloutTargets(
        logprobs: try tensor("rollout.logprobs"), refLogprobs: try tensor("rollout.ref_logprobs"),
        values: try tensor("rollout.values"), scores: try tensor("rollout.scores"),
        sequenceLengths: lengths,
        config: c)
      for (key, value) in [
        ("logprobs", targets.logprobs), ("ref_logprobs", targets.refLogprobs),
        ("values", targets.values),
        ("kl", targets.kl), ("non_score_reward", targets.nonScoreReward),
        ("rewards", targets.rewards),
        ("advantages", targets.advantages), ("returns", targets.returns),
      ] {
        assertClose(value, try tensor("\(name).\(key)"), "\(name).\(key)")
      }

      // One mini-batch: the new log-probabilities and values, masked as trl masks them.
      let newRaw = try tensor("rollout.new_logprobs").requiringGrad()
      let vpredRaw = try tensor("rollout.vpred").requiringGrad()
      let newLogprobs = newRaw.maskedFill(targets.responseMask == 0, value: PPOMath.invalidLogprob)
      let vpred = vpredRaw.maskedFill(targets.valueMask == 0, value: 0)
      let pg = PPOMath.clippedPolicyLoss(
        logprobs: newLogprobs, oldLogprobs: targets.logprobs, advantages: targets.advantages,
        mask: targets.responseMask, cliprange: c.cliprange)
      let vf = PPOMath.clippedValueLoss(
        values: vpred, oldValues: targets.values, returns: targets.returns, mask: targets.valueMask,
        cliprangeValue: c.cliprangeValue)
      let loss = pg.loss + vf.loss * c.vfCoef
      loss.backward()
      for (key, value) in [
        ("pg_loss", pg.loss), ("pg_clipfrac", pg.clipfrac), ("approxkl", pg.approxkl),
        ("ratio_mean", pg.ratio.mean()), ("vf_loss", vf.loss), ("vf_clipfrac", vf.clipfrac),
        ("loss", loss),
        ("grad_new_logprobs", try XCTUnwrap(newRaw.grad)),
        ("grad_vpred", try XCTUnwrap(vpredRaw.grad)),
      ] {
        assertClose(value, try tensor("\(name).\(key)"), "\(name).\(key)")
      }
      // The fixture clips some positions but not all, so both branches of each max are exercised.
      XCTAssertGreaterThan(pg.clipfrac.item(), 0, name)
      XCTAssertLessThan(vf.clipfrac.item(), 1, name)
    }
  }

  func testEntropyMatchesTrl() throws {
    assertClose(
      PPOMath.entropy(logits: try tensor("rollout.logits")), try tensor("entropy"), "entropy")
  }

  func testMaskedStatisticsMatchTrl() throws {
    let x = try tensor("stats.x")
    let mask = try tensor("stats.mask")
    assertClose(PPOMath.maskedMean(x, mask), try tensor("stats.masked_mean"), "masked_mean")
    assertClose(
      PPOMath.maskedMean(x, mask, dim: 1), try tensor("stats.masked_mean_dim1"),
      "masked_mean axis 1")
    assertClose(try PPOMath.maskedVar(x, mask), try tensor("stats.masked_var"), "masked_var")
    assertClose(
      try PPOMath.maskedVar(x, mask, unbiased: false), try tensor("stats.masked_var_biased"),
      "masked_var biased")
    assertClose(
      try PPOMath.maskedWhiten(x, mask), try tensor("stats.masked_whiten"), "masked_whiten")
    assertClose(
      try PPOMath.maskedWhiten(x, mask, shiftMean: false),
      try tensor("stats.masked_whiten_noshift"),
      "masked_whiten shift_mean=False")
  }

  func testEnvironmentGAEWithEpisodeEndsAndBootstrap() throws {
    let (advantages, returns) = PPOMath.advantagesAndReturns(
      rewards: try tensor("env.rewards"), values: try tensor("env.values"),
      continues: try tensor("env.continues"), bootstrapValues: try tensor("env.bootstrap"),
      gamma: 0.99, lam: 0.95)
    assertClose(advantages, try tensor("env.advantages"), "advantages")
    assertClose(returns, try tensor("env.returns"), "returns")
  }

  func testEmptyMaskAndBadShapesAreClearErrors() throws {
    let x = Tensor([Float(1), 2, 3])
    XCTAssertThrowsError(try PPOMath.maskedVar(x, Tensor([Float(0), 0, 0]))) { error in
      XCTAssertTrue("\(error)".contains("mask selects no element"), "\(error)")
    }
    let rollout = Tensor.zeros([2, 3])
    XCTAssertThrowsError(
      try PPOMath.rolloutTargets(
        logprobs: rollout, refLogprobs: rollout, values: rollout, scores: Tensor.zeros([2]),
        sequenceLengths: [1, 3], config: PPOConfig())
    ) { error in
      XCTAssertTrue("\(error)".contains("sequence length 3 is outside"), "\(error)")
    }
    var c = PPOConfig()
    c.cliprange = 0
    XCTAssertThrowsError(
      try c.validate(naming: { "--" + $0.replacingOccurrences(of: "_", with: "-") })
    ) { error in
      XCTAssertEqual("\(error)", "--cliprange must be positive, got 0.0")
    }
  }
}
