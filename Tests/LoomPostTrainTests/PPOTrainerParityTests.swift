import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomTrain
import XCTest

@testable import LoomPostTrain

/// `PPOTrainer`'s rollout targets, losses and logged objectives against trl's formulas on the fixed
/// rollout of scripts/fixtures/make_ppo_lm_fixtures.py, and its input checks.
final class PPOTrainerParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = PPOLanguageModelParityTests.fixtures
  static let expected = PPOLanguageModelParityTests.expected
  struct Expected: Decodable { let metrics: [String: Double] }
  static let metrics = try! JSONDecoder().decode(
    Expected.self, from: FileManager.default.contents(atPath: fixtures + "/expected.json")!
  ).metrics

  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst =
      zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func assertClose(
    _ a: Double, _ key: String, _ tol: Double = 1e-5, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    let b = Self.metrics[key]!
    XCTAssertLessThanOrEqual(
      abs(a - b), tol * max(1, abs(b)), "\(key): \(a) vs trl \(b)", file: file, line: line)
  }

  func config() -> PPOConfig {
    var c = PPOConfig()
    c.stopTokenId = 1
    c.missingEosPenalty = 1
    c.temperature = 0.7
    c.responseLength = 6
    return c
  }

  func trainer(_ config: PPOConfig? = nil, reward: String = "reward", batch: Int = 4) throws
    -> PPOTrainer
  {
    var args = TrainingArguments(
      outputDir: NSTemporaryDirectory() + "loom-ppo-\(UUID().uuidString)")
    args.perDeviceTrainBatchSize = batch
    let dir = Self.fixtures
    return try PPOTrainer(
      config: config ?? self.config(), args: args,
      policy: GPT2LMHeadModel.load(from: dir + "/policy"),
      ref: GPT2LMHeadModel.load(from: dir + "/ref"),
      value: TokenScoreModel.load(from: dir + "/value", role: "value model", freshHead: false),
      reward: .model(
        TokenScoreModel.load(from: dir + "/" + reward, role: "reward model", freshHead: false)),
      prompts: [[5, 6, 7], [8, 9, 10, 11, 12], [13, 14], [15, 16, 17, 18]], padTokenId: 0,
      eosTokenId: 1)
  }

  func testRolloutTargetsMatchTrl() throws {
    let t = try trainer()
    let r = try t.rollout(queryResponses: try tensor("query_responses"), contextLength: 5)
    XCTAssertEqual(r.sequenceLengths, [2, 5, 0, 5])
    XCTAssertEqual(r.containsEos, [true, false, true, true])
    assertClose(r.scores, try tensor("scores"), 1e-5, "scores")
    let g = r.targets
    for (name, got) in [
      ("logprobs_masked", g.logprobs), ("ref_logprobs_masked", g.refLogprobs),
      ("values_masked", g.values),
      ("kl", g.kl), ("non_score_reward", g.nonScoreReward), ("rewards", g.rewards),
      ("advantages", g.advantages),
      ("returns", g.returns),
    ] {
      assertClose(got, try tensor(name), 1e-5, name)
    }
    let m = try noGrad { try t.metrics(r, stats: .init(ratio: [1])) }
    for key in [
      "objective/kl", "objective/entropy", "objective/non_score_reward", "objective/rlhf_reward",
      "objective/scores",
    ] {
      assertClose(m[key]!, key)
    }
    XCTAssertEqual(m["val/num_eos_tokens"], Self.metrics["val/num_eos_tokens"])
  }

  func testK3EstimatorMatchesTrl() throws {
    var c = config()
    c.klEstimator = .k3
    let r = try trainer(c).rollout(queryResponses: try tensor("query_responses"), contextLength: 5)
    assertClose(r.targets.kl, try tensor("kl_k3"), 1e-5, "kl k3")
  }

  /// The loss with the reference as the updated policy and the reward model as the updated value model
  /// (so ratios and values move off the rollout): trl's pg/vf losses, clip fractions, approx KL, entropy.
  func testMiniBatchLossMatchesTrl() throws {
    let t = try trainer()
    let r = try t.rollout(queryResponses: try tensor("query_responses"), contextLength: 5)
    let ref = try GPT2LMHeadModel.load(from: Self.fixtures + "/ref")
    let reward = try TokenScoreModel.load(
      from: Self.fixtures + "/reward", role: "reward model", freshHead: false)
    let step = t.microBatchLoss(r, rows: [0, 1, 2, 3], policy: ref, value: reward)
    assertClose(step.loss.item(), "loss")
    assertClose(step.policy.loss.item(), "loss/policy")
    assertClose(step.value.loss.item(), "loss/value")
    assertClose(step.policy.clipfrac.item(), "policy/clipfrac")
    assertClose(step.value.clipfrac.item(), "val/clipfrac")
    assertClose(step.policy.approxkl.item(), "policy/approxkl")
    assertClose(step.entropy.mean().item(), "policy/entropy")
    assertClose(step.policy.ratio, try tensor("ratio"), 1e-5, "ratio")
    assertClose(step.entropy, try tensor("entropy"), 1e-4, "entropy")
    // Gradients reach both trained models through the one loss.
    step.loss.backward()
    XCTAssertNotNil(ref.transformer.wte.weight.grad)
    XCTAssertNotNil(reward.score.weight.grad)
  }

  /// Two updates of 2 prompts (micro-batches of 1, 2 accumulated; 2 mini-batches; 2 PPO epochs): every trl
  /// metric is logged to metrics.jsonl and the policy's weights move.
  func testTrainingLogsTrlMetricNamesAndMovesThePolicy() throws {
    var c = config()
    c.responseLength = 4
    c.numPpoEpochs = 2
    c.numMiniBatches = 2
    let t = try trainer()
    var args = t.args
    args.learningRate = 1e-2
    args.perDeviceTrainBatchSize = 1
    args.gradientAccumulationSteps = 2
    args.maxSteps = 2
    defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
    let trainer = try PPOTrainer(
      config: c, args: args, policy: t.policy, ref: t.ref, value: t.value, reward: t.reward,
      prompts: t.prompts,
      padTokenId: 0, eosTokenId: 1)
    XCTAssertEqual(trainer.batchSize, 2)
    XCTAssertEqual(trainer.miniBatchSize, 1)
    let before = t.policy.parameters()[0].toArray(Float.self)
    let history = try trainer.train()
    XCTAssertEqual(history.count, 2)
    for key in PPOTrainer.metricNames {
      XCTAssertTrue(
        history[1][key]?.isFinite == true, "\(key): \(String(describing: history[1][key]))")
    }
    XCTAssertEqual(history[1]["episode"], 4)
    XCTAssertEqual(history[1]["step"], 2)
    XCTAssertNotEqual(t.policy.parameters()[0].toArray(Float.self), before)
    let lines = try String(contentsOfFile: args.outputDir + "/metrics.jsonl", encoding: .utf8)
      .split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    let first = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
    XCTAssertEqual(
      try XCTUnwrap(first["objective/rlhf_reward"] as? Double),
      history[0]["objective/rlhf_reward"]!, accuracy: 1e-12)
  }

  // MARK: bad input

  func testRewardModelWithTwoOutputsIsAnError() throws {
    let dir = NSTemporaryDirectory() + "loom-ppo-rm2-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let m = try TokenScoreModel(
      GPT2LMHeadModel.load(from: Self.fixtures + "/policy").config, numLabels: 2)
    try m.savePretrained(to: dir)
    try FileManager.default.copyItem(
      atPath: Self.fixtures + "/value/config.json", toPath: dir + "/config.json")
    XCTAssertThrowsError(
      try TokenScoreModel.load(from: dir, role: "reward model", freshHead: false)
    ) {
      XCTAssertTrue("\($0)".contains("has 2 outputs"), "\($0)")
    }
  }

  func testVocabularyMismatchIsAnError() throws {
    let good = try trainer()
    var config = try XCTUnwrap(good.policy as? GPT2LMHeadModel).config
    config.vocabSize = 41
    let other = try TokenScoreModel(config)
    XCTAssertThrowsError(
      try PPOTrainer(
        config: good.config, args: good.args, policy: good.policy, ref: good.ref, value: good.value,
        reward: .model(other), prompts: good.prompts, padTokenId: 0, eosTokenId: 1)
    ) {
      XCTAssertTrue(
        "\($0)".contains("reward model's vocabulary (41 tokens) differs from the policy's (40)"),
        "\($0)")
    }
  }

  func testSizesThatCannotSplitAreErrors() throws {
    var c = config()
    c.numMiniBatches = 3
    XCTAssertThrowsError(try trainer(c)) {
      XCTAssertTrue("\($0)".contains("multiple of num_mini_batches"), "\($0)")
    }
    XCTAssertThrowsError(try trainer(batch: 5)) {
      XCTAssertTrue("\($0)".contains("cannot fill one batch"), "\($0)")
    }
  }

  func testPromptsFileErrors() throws {
    let dir = NSTemporaryDirectory() + "loom-ppo-prompts-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    func write(_ name: String, _ text: String) -> String {
      _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(text.utf8))
      return dir + "/" + name
    }
    XCTAssertThrowsError(try PromptsFile.read(write("empty.jsonl", "\n\n"))) {
      XCTAssertTrue("\($0)".contains("holds no prompts"), "\($0)")
    }
    XCTAssertThrowsError(try PromptsFile.read(write("bad.jsonl", "{\"prompt\": \"a\"}\n{nope\n"))) {
      XCTAssertTrue("\($0)".contains("bad.jsonl:2: not a JSON object"), "\($0)")
    }
    XCTAssertThrowsError(try PromptsFile.read(write("key.jsonl", "{\"text\": \"a\"}\n"))) {
      XCTAssertTrue("\($0)".contains("key.jsonl:1: no \"prompt\" string (keys: text)"), "\($0)")
    }
    XCTAssertEqual(
      try PromptsFile.read(write("ok.jsonl", "{\"prompt\": \"a b\"}\n\n{\"prompt\": \"c\"}\n")),
      ["a b", "c"])
    XCTAssertEqual(try PromptsFile.read(write("ok.txt", "first\n\nsecond\n")), ["first", "second"])
  }

  func testBuiltinRewards() throws {
    XCTAssertEqual(try BuiltinReward(parsing: "builtin:length=10").score("abcde"), -0.5)
    XCTAssertEqual(
      try BuiltinReward(parsing: "builtin:length").score(String(repeating: "x", count: 40)), 0)
    XCTAssertEqual(try BuiltinReward(parsing: "builtin:count=ab").score("abcabab"), 3)
    XCTAssertEqual(try BuiltinReward(parsing: "builtin:ends=.").score("done.\n"), 1)
    XCTAssertEqual(try BuiltinReward(parsing: "builtin:ends=.").score("done"), 0)
    XCTAssertThrowsError(try BuiltinReward(parsing: "builtin:nope")) {
      XCTAssertTrue("\($0)".contains("unknown reward 'nope'"), "\($0)")
    }
    XCTAssertThrowsError(try BuiltinReward(parsing: "builtin:length=0")) {
      XCTAssertTrue("\($0)".contains("positive integer"), "\($0)")
    }
  }
}
