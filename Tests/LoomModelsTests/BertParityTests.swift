import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// BERT against transformers on a tiny random BertForPreTraining checkpoint (padding in
/// the batch, three token types); every head loads it through its Auto class.
final class BertParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  func testBaseModelHiddenStatesAndPooler() throws {
    let f = try EncoderFixture("bert")
    let model = try AutoModel.from(directory: f.directory)
    let bert = try XCTUnwrap(model as? BertModel)
    XCTAssertTrue(bert.parameters().allSatisfy { $0.device == TestDevice.device })
    var inp = try f.inputs()
    inp.outputHiddenStates = true
    let out = try bert.forward(inp)
    EncoderFixture.assertClose(out.lastHiddenState!, try f.t("model.last_hidden_state"), 1e-4, "last_hidden_state")
    EncoderFixture.assertClose(out.poolerOutput!, try f.t("model.pooler_output"), 1e-4, "pooler_output")
    XCTAssertEqual(out.hiddenStates!.count, 3)
    for (i, h) in out.hiddenStates!.enumerated() {
      EncoderFixture.assertClose(h, try f.t("model.hidden_states.\(i)"), 1e-4, "hidden_states[\(i)]")
    }
  }

  func testPreTrainingHeadsAndSummedLoss() throws {
    let f = try EncoderFixture("bert")
    try f.checkHead(
      "BertForPreTraining", try AutoModelForPreTraining.from(directory: f.directory),
      outputs: [("prediction_logits", \.predictionLogits), ("seq_relationship_logits", \.seqRelationshipLogits)]
    ) { inp in
      inp.labels = try f.t("labels.mlm")
      inp.nextSentenceLabel = try f.t("labels.nsp")
    }
  }

  func testMaskedLM() throws {
    let f = try EncoderFixture("bert")
    let model = try AutoModelForMaskedLM.from(directory: f.directory)
    try f.checkHead("BertForMaskedLM", model, outputs: [("logits", \.logits)]) { $0.labels = try f.t("labels.mlm") }
  }

  func testSequenceClassificationSingleAndMultiLabel() throws {
    let f = try EncoderFixture("bert")
    try f.checkHead(
      "BertForSequenceClassification", try AutoModelForSequenceClassification.from(directory: f.directory),
      outputs: [("logits", \.logits)]
    ) { $0.labels = try f.t("labels.class") }
    // Float targets with 3 labels: HF infers multi_label_classification (BCE with logits).
    try f.checkHead(
      "BertForSequenceClassification.multi", try AutoModelForSequenceClassification.from(directory: f.directory),
      outputs: [("logits", \.logits)]
    ) { $0.labels = try f.t("labels.multi") }
  }

  func testTokenClassificationAndQuestionAnswering() throws {
    let f = try EncoderFixture("bert")
    try f.checkHead(
      "BertForTokenClassification", try AutoModelForTokenClassification.from(directory: f.directory),
      outputs: [("logits", \.logits)]
    ) { $0.labels = try f.t("labels.tokens") }
    // One start position (40) is beyond the sequence: clamped and ignored, as in HF.
    try f.checkHead(
      "BertForQuestionAnswering", try AutoModelForQuestionAnswering.from(directory: f.directory),
      outputs: [("start_logits", \.startLogits), ("end_logits", \.endLogits)]
    ) { inp in
      inp.startPositions = try f.t("start_positions")
      inp.endPositions = try f.t("end_positions")
    }
  }

  func testFiveAdamWStepsOfMaskedLM() throws {
    let f = try EncoderFixture("bert")
    try f.checkAdamW(try AutoModelForMaskedLM.from(directory: f.directory))
  }

  func testSaveHasTransformersNamesAndRoundTrips() throws {
    let f = try EncoderFixture("bert")
    let model = try BertForPreTraining.fromPretrained(f.directory)
    try f.checkSaveMatchesHF(model)
    // Base model → head model and back through the base-model prefix.
    let tmp = NSTemporaryDirectory() + "loom-bert-base-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let base = try BertModel.fromPretrained(f.directory)
    try base.savePretrained(to: tmp)
    let mlm = try BertForMaskedLM.fromPretrained(tmp)
    let a = try base(inputIds: try f.t("input_ids"))
    let b = try mlm.bert(inputIds: try f.t("input_ids"))
    EncoderFixture.assertClose(a, b, 0, "base → head")
  }

  func testRegressionProblemType() throws {
    let f = try EncoderFixture("bert")
    var config = try BertForSequenceClassification.fromPretrained(f.directory).config
    config.labels.problemType = .regression
    let m = try BertForSequenceClassification(config)
    var inp = try f.inputs()
    inp.labels = try f.t("labels.multi")
    let out = try m.forward(inp)
    let expected = ((out.logits! - inp.labels!).square()).mean()
    EncoderFixture.assertClose(out.loss!, expected, 1e-6, "mse")
  }

  func testBadInputsAreClearErrors() throws {
    let f = try EncoderFixture("bert")
    let m = try BertModel.fromPretrained(f.directory)
    func message(_ body: () throws -> Void) -> String {
      do { try body() } catch { return "\(error)" }
      return "no error"
    }
    let long = Tensor([Int64](repeating: 5, count: 25), shape: [1, 25])
    XCTAssertTrue(message { _ = try m(inputIds: long) }.contains("max_position_embeddings = 24"))
    let badId = Tensor([Int64(3), 40], shape: [1, 2])
    XCTAssertTrue(message { _ = try m(inputIds: badId) }.contains("input_ids holds 40, outside 0..<40"))
    let ids = Tensor([Int64(3), 4], shape: [1, 2])
    let badType = Tensor([Int64(0), 3], shape: [1, 2])
    XCTAssertTrue(message { _ = try m(inputIds: ids, tokenTypeIds: badType) }.contains("token_type_ids holds 3, outside 0..<3"))
    XCTAssertTrue(message { _ = try m(inputIds: ids, attentionMask: Tensor([Int64(1)], shape: [1, 1])) }.contains("attention_mask has shape"))
  }
}
