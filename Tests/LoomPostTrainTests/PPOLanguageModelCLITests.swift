import Foundation
import LoomCore
import LoomModels
import LoomTestSupport
import XCTest

/// `loom train ppo` on a tiny random character-level GPT-2 with a builtin reward: two updates write
/// trl's metric names to metrics.jsonl, the plots and the trained policy; bad flags are clear errors.
final class PPOLanguageModelCLITests: XCTestCase {
  var dir: String!

  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-ppo-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  static let chars = Array("abcdefgh ,.\n")

  /// A random character-level GPT-2 with its char_vocab.json, and a prompts file.
  func setUpModelAndPrompts() throws -> (model: String, prompts: String) {
    let model = dir + "/policy"
    let m = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: Self.chars.count, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2,
        bosTokenId: nil, eosTokenId: nil),
      generator: Generator(seed: 4))
    try m.save(to: model)
    let vocab = try JSONEncoder().encode(Self.chars.map(String.init))
    _ = FileManager.default.createFile(atPath: model + "/char_vocab.json", contents: vocab)
    let prompts = dir + "/prompts.jsonl"
    let rows = ["ab", "cd e", "fgh", "a,b"].map { "{\"prompt\": \"\($0)\"}" }.joined(
      separator: "\n")
    _ = FileManager.default.createFile(atPath: prompts, contents: Data(rows.utf8))
    return (model, prompts)
  }

  func testTwoUpdatesWithABuiltinReward() throws {
    let (model, prompts) = try setUpModelAndPrompts()
    let newline = String(Self.chars.firstIndex(of: "\n")!)
    let out = dir + "/out"
    let r = try loom([
      "train", "ppo", "--model", model, "--reward", "builtin:length=4", "--prompts", prompts,
      "--output-dir", out,
      "--response-length", "6", "--stop-token-id", newline, "--pad-token-id", newline,
      "--num-ppo-epochs", "2",
      "--batch-size", "2", "--max-steps", "2", "--kl-coef", "0.1", "--lr", "1e-3", "--seed", "3",
    ])
    XCTAssertEqual(r.status, 0, r.err + r.out)
    let lines = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(
      separator: "\n")
    XCTAssertEqual(lines.count, 2)
    let record = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
    for key in [
      "objective/kl", "objective/entropy", "objective/scores", "objective/rlhf_reward",
      "objective/non_score_reward",
      "policy/clipfrac_avg", "policy/approxkl_avg", "policy/entropy_avg", "loss/policy_avg",
      "loss/value_avg",
      "val/clipfrac_avg", "val/ratio", "val/num_eos_tokens", "lr", "episode", "step",
    ] {
      XCTAssertNotNil(record[key] as? Double, "\(key) missing from \(lines[1])")
    }
    XCTAssertEqual(record["step"] as? Double, 2)
    XCTAssertEqual(record["episode"] as? Double, 4)
    // Scores are −|length − 4| / 4 of responses of at most 6 characters.
    let scores = try XCTUnwrap(record["objective/scores"] as? Double)
    XCTAssertTrue((-1.0...0).contains(scores), "\(scores)")
    for file in ["reward.png", "kl.png", "model.safetensors", "config.json", "char_vocab.json"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
    }
  }

  /// A reward model that is not GPT-2: a RoBERTa sentiment classifier `loom train classify` made (its own
  /// BPE tokenizer) reads each decoded response; the chosen label's logit is the score.
  func testATextClassifierRewardModelScoresDecodedResponses() throws {
    let (model, prompts) = try setUpModelAndPrompts()
    let fixtures =
      URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
      + "/LoomModelsTests/Fixtures/encoder-cli"
    let classifier = dir + "/sentiment"
    let c = try loom([
      "train", "classify", "--model", fixtures + "/roberta-tiny", "--data", fixtures + "/classify.csv",
      "--text-column", "sentence", "--label-column", "label", "--max-steps", "2", "--batch-size", "4",
      "--eval-strategy", "no", "--save-strategy", "no", "--output-dir", classifier,
    ])
    XCTAssertEqual(c.status, 0, c.err)
    let newline = String(Self.chars.firstIndex(of: "\n")!)
    let ppo = [
      "train", "ppo", "--model", model, "--reward-model", classifier, "--prompts", prompts,
      "--response-length", "6", "--stop-token-id", newline, "--pad-token-id", newline, "--batch-size", "2",
      "--max-steps", "2", "--lr", "1e-3", "--seed", "3",
    ]
    let unnamed = try loom(ppo + ["--output-dir", dir + "/unnamed"])
    XCTAssertNotEqual(unnamed.status, 0)
    XCTAssertTrue(unnamed.err.contains("has 2 labels (neg, pos)"), unnamed.err)
    XCTAssertTrue(unnamed.err.contains("--reward-label"), unnamed.err)
    let out = dir + "/out"
    let r = try loom(ppo + ["--reward-label", "pos", "--output-dir", out])
    XCTAssertEqual(r.status, 0, r.err + r.out)
    let lines = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
    let scores = try XCTUnwrap(record["objective/scores"] as? Double)
    XCTAssertTrue(scores.isFinite && scores != 0, "\(scores)")
    let wrong = try loom(ppo + ["--reward-label", "happy", "--output-dir", dir + "/wrong"])
    XCTAssertNotEqual(wrong.status, 0)
    XCTAssertTrue(wrong.err.contains("has the labels neg, pos"), wrong.err)
  }

  func testBadFlagsAreClearErrors() throws {
    let (model, prompts) = try setUpModelAndPrompts()
    let out = dir + "/bad"
    var r = try loom(["train", "ppo", "--model", model, "--prompts", prompts, "--output-dir", out])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("pass --reward-model DIR or --reward builtin:NAME"), r.err)
    r = try loom([
      "train", "ppo", "--model", model, "--reward", "builtin:shout", "--prompts", prompts,
      "--output-dir", out,
    ])
    XCTAssertTrue(r.err.contains("unknown reward 'shout'"), r.err)
    let empty = dir + "/empty.jsonl"
    _ = FileManager.default.createFile(atPath: empty, contents: Data())
    r = try loom([
      "train", "ppo", "--model", model, "--reward", "builtin:length", "--prompts", empty,
      "--output-dir", out,
      "--pad-token-id", "0",
    ])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("holds no prompts"), r.err)
  }

  /// A Llama policy with a Llama reward model (num_labels 1): both score tokens as trl's get_reward does,
  /// and the value model defaults to the reward model's trunk and head.
  func testLlamaPolicyWithALlamaRewardModel() throws {
    let (_, prompts) = try setUpModelAndPrompts()
    var config = LlamaConfig(
      vocabSize: Self.chars.count, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1,
      numAttentionHeads: 2, maxPositionEmbeddings: 32)
    let (policy, rewardDir) = (dir + "/llama", dir + "/llama-reward")
    manualSeed(5)
    try LlamaForCausalLM(config).savePretrained(to: policy)
    config.numLabels = 1
    try LlamaForSequenceClassification(config).savePretrained(to: rewardDir)
    let vocab = try JSONEncoder().encode(Self.chars.map(String.init))
    for d in [policy, rewardDir] { _ = FileManager.default.createFile(atPath: d + "/char_vocab.json", contents: vocab) }
    let newline = String(Self.chars.firstIndex(of: "\n")!)
    let out = dir + "/out-llama"
    let r = try loom([
      "train", "ppo", "--model", policy, "--reward-model", rewardDir, "--prompts", prompts, "--output-dir", out,
      "--response-length", "5", "--stop-token-id", newline, "--pad-token-id", newline, "--batch-size", "2",
      "--max-steps", "2", "--lr", "1e-3", "--seed", "3",
    ])
    XCTAssertEqual(r.status, 0, r.err + r.out)
    let lines = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
    for key in ["objective/scores", "objective/kl", "loss/value_avg"] {
      let v = try XCTUnwrap(record[key] as? Double, "\(key) missing from \(lines[1])")
      XCTAssertTrue(v.isFinite, "\(key) = \(v)")
    }
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
  }

}
