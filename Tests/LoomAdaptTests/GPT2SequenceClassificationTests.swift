import Foundation
import LoomAdapt
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// `GPT2ForSequenceClassification` against transformers 5.25 and a PEFT LoRA adapter on it
/// (scripts/fixtures/make_gpt2_seqcls_fixtures.py, Fixtures/gpt2-cls).
final class GPT2SequenceClassificationTests: XCTestCase {
  static let root = PromptTuningParityTests.fixtures + "/gpt2-cls"
  static let expected = try! SafeTensorsFile(path: root + "/expected.safetensors")

  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func load() throws -> GPT2ForSequenceClassification {
    try XCTUnwrap(
      try ModelRegistry.loadModel(.sequenceClassification, from: Self.root + "/base")
        as? GPT2ForSequenceClassification)
  }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst =
      zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func inputs() throws -> EncoderInputs {
    EncoderInputs(
      inputIds: try tensor("input_ids"), attentionMask: try tensor("attention_mask"),
      labels: try tensor("labels"))
  }

  /// Pooling at the last non-pad token (right and left padding), logits, loss and gradients.
  func testLogitsLossAndGradientsMatchTransformers() throws {
    let m = try load()
    XCTAssertEqual(m.config.numLabels, 3)
    XCTAssertEqual(
      try GPT2ForSequenceClassification.lastNonPadIndices(try tensor("input_ids"), padTokenId: 0),
      [4, 6])
    let out = try m.forward(try inputs())
    assertClose(try XCTUnwrap(out.logits), try tensor("logits"), 1e-5, "logits")
    assertClose(try XCTUnwrap(out.loss).reshape([1]), try tensor("loss"), 1e-5, "loss")
    try XCTUnwrap(out.loss).backward()
    let params = Dictionary(uniqueKeysWithValues: m.namedParameters())
    for name in ["score.weight", "transformer.wte.weight", "transformer.h.0.attn.c_attn.weight"] {
      assertClose(
        try XCTUnwrap(params[name]?.grad), try tensor("grad." + name), 1e-5, name + " gradient")
    }
    XCTAssertNil(params["score.bias"], "HF's score has no bias")
  }

  /// Without a pad token one row pools its last column; two rows are transformers' error.
  func testWithoutAPadTokenOnlyOneRowPools() throws {
    let dir = NSTemporaryDirectory() + "loom-gpt2-cls-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    var config =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: Self.root + "/base/config.json")))
      as! [String: Any]
    config["pad_token_id"] = NSNull()
    try JSONSerialization.data(withJSONObject: config).write(
      to: URL(fileURLWithPath: dir + "/config.json"))
    try FileManager.default.copyItem(
      atPath: Self.root + "/base/model.safetensors", toPath: dir + "/model.safetensors")
    let m = try XCTUnwrap(
      try ModelRegistry.loadModel(.sequenceClassification, from: dir)
        as? GPT2ForSequenceClassification)
    XCTAssertNil(m.config.padTokenId)
    let single = try m.forward(EncoderInputs(inputIds: try tensor("single.input_ids")))
    assertClose(try XCTUnwrap(single.logits), try tensor("single.logits"), 1e-5, "one row")
    XCTAssertThrowsError(try m.forward(EncoderInputs(inputIds: try tensor("input_ids")))) {
      XCTAssertTrue(
        "\($0)".contains("Cannot handle batch sizes > 1 if no padding token is defined"), "\($0)")
    }
  }

  /// PEFT's LoRA on c_attn (Conv1D, fan_in_fan_out) with `score` in modules_to_save loads and
  /// gives PEFT's logits; the config round-trips its labels.
  func testPeftLoraAdapterGivesPeftsLogits() throws {
    let m = try load()
    let peft = try PeftModel.load(m, from: Self.root + "/lora")
    XCTAssertFalse(peft.loraLayers.isEmpty)
    let logits = try XCTUnwrap(noGrad { try? m.forward(try self.inputs()).logits })
    assertClose(logits, try tensor("lora.logits"), 1e-5, "logits with PEFT's adapter")
    let json =
      try JSONSerialization.jsonObject(with: try JSONEncoder().encode(m.config)) as! [String: Any]
    XCTAssertEqual(
      (json["id2label"] as? [String: String])?.count, 3, "labels are written when not the default")
  }
}
