import Foundation
import LoomCore
import LoomModels
import LoomTestSupport
import XCTest

/// `loom train classify` on a causal-LM Llama base: a fresh `score` head, last non-pad pooling.
final class LlamaCLITests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

  func testTrainClassifyFineTunesALlamaCausalLMBase() throws {
    let dir = NSTemporaryDirectory() + "loom-llama-cli-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/cls"
    let csv = Self.fixtures + "/encoder-cli/classify.csv"
    let r = try loom([
      "train", "classify", "--model", Self.fixtures + "/llama-tiny", "--data", csv, "--text-column",
      "sentence",
      "--label-column", "label", "--epochs", "3", "--learning-rate", "1e-2", "--batch-size", "8",
      "--logging-steps", "2",
      "--save-strategy", "no", "--eval-strategy", "no", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.err.contains("score"), r.err)  // the fresh head is noted
    let losses = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(
      separator: "\n"
    )
    .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    .compactMap { $0["loss"] as? Double }
    XCTAssertGreaterThan(losses.count, 4)
    XCTAssertLessThan(
      losses.suffix(2).reduce(0, +), losses.prefix(2).reduce(0, +), "loss should fall: \(losses)")
    let model = try XCTUnwrap(
      try AutoModelForSequenceClassification.from(directory: out) as? LlamaForSequenceClassification
    )
    XCTAssertEqual(model.config.labels.names.sorted(), ["neg", "pos"])
    XCTAssertEqual(model.score.weight.shape, [2, 8])
  }
}
