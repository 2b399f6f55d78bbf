import Foundation
import LoomGenerate
import LoomModels
import LoomTokenizers
import LoomTestSupport
import XCTest

/// `loom generate` and `loom train classify` on BLOOM directories (a tiny random BLOOM with a
/// BLOOM-style byte-level BPE tokenizer.json, scripts/fixtures/make_bloom_fixtures.py).
final class BloomCLITests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let model = fixtures + "/bloom-tiny"

  func testGreedyTextMatchesTransformers() throws {
    let g = BloomParityTests.generation
    let tok = try Tokenizer.load(nameOrPath: Self.model)
    XCTAssertEqual(try tok.encode(g.text_prompt).ids.map(Int.init), [270, 224, 90, 268, 288])
    let (lm, defaults) = try Generation.loadTextGenerationModel(from: Self.model)
    XCTAssertTrue(lm is BloomForCausalLM)
    XCTAssertEqual(defaults.eosTokenIds, [2])
    XCTAssertEqual(defaults.padTokenId, 3)
    let r = try loom([
      "generate", "--model", Self.model, "--prompt", g.text_prompt, "--max-new-tokens", "8",
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertEqual(r.out, g.text + "\n")
    let emulated = try loom([
      "generate", "--model", Self.model, "--prompt", g.text_prompt, "--max-new-tokens", "8",
      "--device", "emulated",
    ])
    XCTAssertEqual(emulated.out, r.out, emulated.err)
  }

  func testBadConfigIsAClearError() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "loom-bloom-cli-\(UUID())"
    ).path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in ["model.safetensors", "tokenizer.json"] {
      try FileManager.default.copyItem(atPath: Self.model + "/" + f, toPath: dir + "/" + f)
    }
    try Data(#"{"model_type": "bloom", "hidden_size": 12, "n_head": 5}"#.utf8).write(
      to: URL(fileURLWithPath: dir + "/config.json"))
    let r = try loom(["generate", "--model", dir, "--prompt", "hello"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("hidden_size (12) must be divisible by n_head (5)"), r.err)
    XCTAssertTrue(r.err.contains("config.json"), r.err)
  }

  /// A causal-LM checkpoint fine-tunes as `BloomForSequenceClassification` (fresh `score`),
  /// and the output directory loads back with the labels.
  func testTrainClassifyOnABloomBase() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "loom-bloom-cls-\(UUID())"
    ).path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let rows = (0..<24).map { i in
      "\(["hello world", "the lazy dog", "a tiny bloom"][i % 3]) \(i),\(i % 2 == 0 ? "pos" : "neg")"
    }
    try Data((["text,label"] + rows).joined(separator: "\n").utf8).write(
      to: URL(fileURLWithPath: dir + "/d.csv"))
    let r = try loom([
      "train", "classify", "--model", Self.model, "--data", dir + "/d.csv", "--text-column", "text",
      "--label-column", "label", "--output-dir", dir + "/out", "--num-train-epochs", "1",
      "--per-device-train-batch-size", "8",
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.err.contains("newly initialised") && r.err.contains("score.weight"), r.err)
    let m = try XCTUnwrap(
      try AutoModelForSequenceClassification.from(directory: dir + "/out")
        as? BloomForSequenceClassification)
    XCTAssertEqual(m.config.labels.names, ["neg", "pos"])
    XCTAssertEqual(m.score.weight.shape, [2, 12])
  }
}
