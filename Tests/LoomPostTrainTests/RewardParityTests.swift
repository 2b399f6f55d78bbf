import Foundation
import LoomCore
import LoomModels
import LoomNN
import LoomOptim
import LoomTrain
import XCTest

@testable import LoomPostTrain

/// RewardTrainer against trl 1.16's on the same batch (make_dpo_fixtures.py): the
/// Bradley–Terry loss with and without margins and centring, trl's metrics, gradients; a
/// model with more than one output is refused.
final class RewardParityTests: XCTestCase {
  override func setUp() { TestDevice.apply() }

  func rewardModel(_ dir: String = PreferenceFixtures.reward) throws -> any EncoderModel {
    try AutoModelForSequenceClassification.from(directory: dir) as! any EncoderModel
  }

  func dataset(_ path: String) throws -> RewardDataset {
    let (tok, pad) = try PreferenceFixtures.tokenizer()
    return RewardDataset(try tok.tokenizeForReward(PreferenceData.load(path), maxLength: 1024, source: path), padTokenId: pad)
  }

  func testLossAndMetricsMatchTrl() throws {
    let expected = try PreferenceFixtures.expected()["reward"] as! [String: Any]
    let grads = try PreferenceFixtures.grads()
    for (key, path, center) in [
      ("plain", PreferenceFixtures.prefs, nil), ("margin_center", PreferenceFixtures.prefsMargin, 0.01),
    ] as [(String, String, Double?)] {
      let model = try rewardModel()
      let t = try RewardTrainer(
        model: model, centerRewardsCoefficient: center, args: TrainingArguments(outputDir: NSTemporaryDirectory()),
        trainDataset: dataset(path))
      model.train()
      let out = t.computeLoss(model: model, inputs: t.prepareInputs(t.trainDataset.batch([0, 1, 2, 3])))
      out.loss.backward()
      let e = expected[key] as! [String: Any]
      assertClose(out.loss.item(), (e["loss"] as! NSNumber).doubleValue, "\(key) loss")
      let metrics = e["metrics"] as! [String: NSNumber]
      XCTAssertEqual(Set(out.parts.keys), Set(metrics.keys))
      for (name, value) in metrics { assertClose(out.parts[name]!.item(), value.doubleValue, "\(key) \(name)") }
      guard key == "margin_center" else { continue }
      let params = Dictionary(uniqueKeysWithValues: model.namedParameters())
      for name in ["score.weight", "model.layers.0.self_attn.q_proj.weight"] {
        let worst = zip(params[name]!.grad!.floats, grads["reward.\(name)"]!.floats).map { abs(Double($0) - Double($1)) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-5, name)
      }
    }
  }

  func testModelWithTwoOutputsIsAnError() throws {
    let dir = NSTemporaryDirectory() + "loom-reward2-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var config = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: PreferenceFixtures.reward + "/config.json"))) as! [String: Any]
    config["id2label"] = ["0": "bad", "1": "good"]
    config["label2id"] = ["bad": 0, "good": 1]
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
    let two = try LlamaForSequenceClassification(try ConfigFile.decode(LlamaConfig.self, at: dir + "/config.json"))
    XCTAssertThrowsError(
      try RewardTrainer(model: two, args: TrainingArguments(outputDir: dir), trainDataset: dataset(PreferenceFixtures.prefs))
    ) { error in
      XCTAssertTrue("\(error)".contains("2 outputs") && "\(error)".contains("num_labels 1"), "\(error)")
    }
    XCTAssertThrowsError(
      try RewardTrainer(
        model: rewardModel(), centerRewardsCoefficient: -1, args: TrainingArguments(outputDir: dir),
        trainDataset: dataset(PreferenceFixtures.prefs)))
  }

  /// A few steps: the loss falls to the pairs' order and accuracy reaches 1.
  func testTrainingSeparatesThePairs() throws {
    var args = TrainingArguments(outputDir: NSTemporaryDirectory() + "loom-reward-train-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
    args.maxSteps = 15
    args.perDeviceTrainBatchSize = 4
    args.learningRate = 1e-2
    args.loggingSteps = 1
    args.saveStrategy = .no
    args.lrSchedulerType = .constant
    let t = try RewardTrainer(model: rewardModel(), args: args, trainDataset: dataset(PreferenceFixtures.prefs))
    try t.train()
    let logs = t.state.logHistory.filter { $0["loss"] != nil }
    XCTAssertLessThan(logs.last!["loss"]!, logs.first!["loss"]! / 2)
    XCTAssertEqual(logs.last!["accuracy"], 1)
    let keys = try metricsKeys(args.outputDir + "/metrics.jsonl")
    for name in ["accuracy", "margin", "min_reward", "mean_reward", "max_reward"] { XCTAssertTrue(keys.contains(name), name) }
  }
}
