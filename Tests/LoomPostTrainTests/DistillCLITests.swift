import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomTestSupport
import XCTest

/// `loom train distill` end to end on LoomModelsTests' tiny RoBERTa (teacher) and a one-layer
/// student made from its layer 0: the loss falls, the student reloads, bad input is a clear error.
final class DistillCLITests: XCTestCase {
  static let encoderCLI = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .appendingPathComponent("LoomModelsTests/Fixtures/encoder-cli").path
  static let roberta = encoderCLI + "/roberta-tiny"
  var dir: String!

  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-distill-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  func records(_ out: String) throws -> [[String: Double]] {
    try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
      (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]).compactMapValues {
        $0 as? Double
      }
    }
  }

  func testClassifyDistilsIntoAHalfDepthStudentThatReloads() throws {
    let out = dir + "/cls"
    let r = try loom([
      "train", "distill", "--teacher", Self.roberta, "--student-from-teacher-layers", "--task",
      "classify", "--data",
      Self.encoderCLI + "/classify.csv", "--text-column", "sentence", "--label-column", "label",
      "--epochs", "3",
      "--batch-size", "8", "--learning-rate", "5e-3", "--logging-steps", "1", "--alpha-cos", "0.5",
      "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains("layers 0"), r.out)
    let logs = try records(out)
    let losses = logs.compactMap { $0["loss"] }
    XCTAssertGreaterThan(losses.count, 10)
    let head = losses.prefix(3).reduce(0, +) / 3
    let tail = losses.suffix(3).reduce(0, +) / 3
    XCTAssertLessThan(tail, head, "the distillation loss falls: \(losses)")
    XCTAssertTrue(
      logs.contains { $0["kl_loss"] != nil && $0["ce_loss"] != nil && $0["cos_loss"] != nil },
      "\(logs)")
    XCTAssertEqual(logs.filter { $0["eval_accuracy"] != nil }.count, 3, "evaluation each epoch")
    for f in ["config.json", "model.safetensors", "tokenizer.json", "loss.png"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
    }
    let config =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["num_hidden_layers"] as? Int, 1)
    XCTAssertEqual(
      Set((config["id2label"] as? [String: String])?.values.map { $0 } ?? []), ["neg", "pos"])
    let student = try ModelRegistry.loadModel(.sequenceClassification, from: out)
    let names = student.namedParameters().map(\.0)
    XCTAssertTrue(names.contains("roberta.encoder.layer.0.attention.self.query.weight"), "\(names)")
    XCTAssertFalse(
      names.contains { $0.hasPrefix("roberta.encoder.layer.1.") }, "one layer: \(names)")
    let c = try loom(["classify", "--model", out, "--text", "the movie was dull"])
    XCTAssertEqual(c.status, 0, c.err)
  }

  func testMaskedLMDistillsAFewSteps() throws {
    let out = dir + "/mlm"
    let r = try loom([
      "train", "distill", "--teacher", Self.roberta, "--student-from-teacher-layers", "--task",
      "mlm", "--data",
      Self.encoderCLI + "/mlm.txt", "--max-seq-length", "16", "--max-steps", "3", "--batch-size",
      "4", "--logging-steps", "1",
      "--eval-strategy", "no", "--save-strategy", "no", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertEqual(try records(out).compactMap { $0["kl_loss"] }.count, 3)
    XCTAssertNoThrow(try ModelRegistry.loadModel(.maskedLM, from: out))
  }

  func testCausalLMDistilsAFewStepsAndGenerates() throws {
    let gpt = URL(fileURLWithPath: Self.encoderCLI).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(
        "LoomAdaptTests/Fixtures/gpt2-prompt-base"
      ).path
    let out = dir + "/lm"
    let r = try loom([
      "train", "distill", "--teacher", gpt, "--student-from-teacher-layers", "--task", "causal-lm",
      "--data",
      Self.encoderCLI + "/mlm.txt", "--max-seq-length", "16", "--max-steps", "4", "--batch-size",
      "4", "--logging-steps", "1",
      "--alpha-cos", "0.3", "--eval-strategy", "no", "--save-strategy", "no", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertEqual(try records(out).compactMap { $0["cos_loss"] }.count, 4)
    let student = try XCTUnwrap(
      try ModelRegistry.loadModel(.causalLM, from: out) as? GPT2LMHeadModel)
    XCTAssertEqual(student.config.nLayer, 1)
    let g = try loom(["generate", "--model", out, "--prompt", "the", "--max-new-tokens", "3"])
    XCTAssertEqual(g.status, 0, g.err)
  }

  func testBadTaskAndAStudentVocabularyThatDiffersAreClearErrors() throws {
    let base = [
      "--teacher", Self.roberta, "--data", Self.encoderCLI + "/mlm.txt", "--output-dir", dir + "/x",
    ]
    let bad = try loom(["train", "distill", "--task", "seq2seq", "--student", Self.roberta] + base)
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(
      bad.err.contains("--task must be classify, causal-lm, mlm, got 'seq2seq'"), bad.err)
    var config =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: Self.roberta + "/config.json")))
      as! [String: Any]
    config["vocab_size"] = 100
    config["num_hidden_layers"] = 1
    try JSONSerialization.data(withJSONObject: config).write(
      to: URL(fileURLWithPath: dir + "/student.json"))
    let vocab = try loom(
      ["train", "distill", "--task", "mlm", "--student-config", dir + "/student.json"] + base)
    XCTAssertNotEqual(vocab.status, 0)
    XCTAssertTrue(
      vocab.err.contains("has vocab_size 100 but the teacher") && vocab.err.contains("has 396"),
      vocab.err)
    let two = try loom(
      [
        "train", "distill", "--task", "mlm", "--student", Self.roberta,
        "--student-from-teacher-layers",
      ] + base)
    XCTAssertTrue(two.err.contains("exactly one of --student"), two.err)
  }
}
