import Foundation
import LoomCore
import LoomModels
import LoomTestSupport
import XCTest

@testable import LoomPostTrain

/// `loom train reward` and `loom train dpo` on the tiny fixture models: a few steps lower
/// the loss, metrics.jsonl has trl's names, the output reloads; bad input is a clear error.
final class PostTrainCLITests: XCTestCase {
  var dir: String!

  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-posttrain-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  /// The training records of metrics.jsonl.
  func logs(_ out: String) throws -> [[String: Double]] {
    let text = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
    return text.split(separator: "\n").compactMap {
      ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?.compactMapValues {
        ($0 as? NSNumber)?.doubleValue
      }
    }.filter { $0["loss"] != nil }
  }

  static let quick = [
    "--max-steps", "12", "--batch-size", "4", "--lr", "1e-2", "--logging-steps", "1", "--lr-scheduler-type",
    "constant",
  ]

  func testTrainReward() throws {
    let out = dir + "/reward"
    let r = try loom(
      ["train", "reward", "--model", PreferenceFixtures.reward, "--data", PreferenceFixtures.prefsMargin, "--output-dir", out,
       "--center-rewards-coefficient", "0.01"] + Self.quick)
    XCTAssertEqual(r.status, 0, r.err)
    let l = try logs(out)
    XCTAssertEqual(l.count, 12)
    XCTAssertLessThan(l.last!["loss"]!, l.first!["loss"]! / 2)
    for name in ["accuracy", "margin", "min_reward", "mean_reward", "max_reward"] { XCTAssertNotNil(l.last![name], name) }
    XCTAssertEqual(l.last!["accuracy"], 1)
    let model = try AutoModelForSequenceClassification.from(directory: out)
    XCTAssertTrue(model is LlamaForSequenceClassification)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/tokenizer.json"))
  }

  func testTrainDPO() throws {
    let out = dir + "/dpo"
    let r = try loom(
      ["train", "dpo", "--model", PreferenceFixtures.policy, "--ref-model", PreferenceFixtures.reference, "--data",
       PreferenceFixtures.prefs, "--output-dir", out, "--beta", "0.1", "--loss-type", "sigmoid"] + Self.quick)
    XCTAssertEqual(r.status, 0, r.err)
    let l = try logs(out)
    XCTAssertEqual(l.count, 12)
    XCTAssertLessThan(l.last!["loss"]!, l.first!["loss"]! - 0.1)
    for name in DPOParityTests.metricNames { XCTAssertNotNil(l.last![name], name) }
    XCTAssertEqual(l.last!["rewards/accuracies"], 1)
    for plot in ["loss.png", "rewards.png", "accuracies.png"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + plot), plot)
    }
    let model = try AutoModelForCausalLM.from(directory: out)
    XCTAssertEqual(model.vocabularySize, 300)
  }

  /// With --lora-r the reference is the base (adapter off): the first loss is log 2.
  func testTrainDPOWithLoRA() throws {
    let out = dir + "/dpo-lora"
    let r = try loom(
      ["train", "dpo", "--model", PreferenceFixtures.policy, "--data", PreferenceFixtures.prefs, "--output-dir", out,
       "--lora-r", "4", "--loss-type", "ipo"] + Self.quick)
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains("the base model (adapter disabled)"), r.out)
    let l = try logs(out)
    XCTAssertEqual(l.first!["rewards/margins"]!, 0, accuracy: 1e-6)
    XCTAssertLessThan(l.last!["loss"]!, l.first!["loss"]!)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/adapter_config.json"))
  }

  /// Without --ref-model the reference is --model as it starts (scored once): the first
  /// loss is log 2 and the loss falls as the policy moves away from it.
  func testTrainDPODefaultReference() throws {
    let out = dir + "/dpo-self"
    let r = try loom(
      ["train", "dpo", "--model", PreferenceFixtures.policy, "--data", PreferenceFixtures.prefs, "--output-dir", out]
        + Self.quick)
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains("--model before training"), r.out)
    let l = try logs(out)
    XCTAssertEqual(l.first!["loss"]!, log(2), accuracy: 1e-5)
    XCTAssertLessThan(l.last!["loss"]!, l.first!["loss"]! - 0.1)
  }

  func testBadInputIsAClearError() throws {
    var r = try loom(
      ["train", "dpo", "--model", PreferenceFixtures.policy, "--data", PreferenceFixtures.prefs, "--output-dir", dir + "/a",
       "--loss-type", "kto"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("unknown DPO loss type 'kto'"), r.err)
    let bad = dir + "/bad.jsonl"
    try #"{"prompt": "a", "chosen": "b"}"#.write(toFile: bad, atomically: true, encoding: .utf8)
    r = try loom(["train", "dpo", "--model", PreferenceFixtures.policy, "--data", bad, "--output-dir", dir + "/b"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("bad.jsonl:1") && r.err.contains("no 'rejected'"), r.err)
    // A causal-LM GPT-2 base gets HF's GPT2ForSequenceClassification with a new one-output score head, as
    // trl's AutoModelForSequenceClassification(num_labels=1) does; the note says the head is untrained.
    r = try loom(
      ["train", "reward", "--model", PreferenceFixtures.policy, "--data", PreferenceFixtures.prefs, "--output-dir",
       dir + "/c", "--max-steps", "2"])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.err.contains("newly initialised") && r.err.contains("score"), r.err)
    let config = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: dir + "/c/config.json"))) as! [String: Any]
    XCTAssertEqual(config["architectures"] as? [String], ["GPT2ForSequenceClassification"])
    XCTAssertEqual((config["id2label"] as? [String: Any])?.count, 1)
  }
}
