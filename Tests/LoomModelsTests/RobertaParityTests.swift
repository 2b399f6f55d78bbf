import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// RoBERTa against transformers on a tiny random RobertaForMaskedLM checkpoint: padded
/// rows (pad id 1) check position ids counted from padding_idx + 1.
final class RobertaParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  func testBaseModelHiddenStates() throws {
    let f = try EncoderFixture("roberta")
    let model = try XCTUnwrap(try AutoModel.from(directory: f.directory) as? RobertaModel)
    var inp = try f.inputs()
    inp.outputHiddenStates = true
    let out = try model.forward(inp)
    EncoderFixture.assertClose(out.lastHiddenState!, try f.t("model.last_hidden_state"), 1e-4, "last_hidden_state")
    // The masked-LM checkpoint has no pooler: both sides start it fresh, so only its shape compares.
    XCTAssertEqual(out.poolerOutput!.shape, [3, 16])
    for (i, h) in out.hiddenStates!.enumerated() {
      EncoderFixture.assertClose(h, try f.t("model.hidden_states.\(i)"), 1e-4, "hidden_states[\(i)]")
    }
  }

  func testEveryHeadLogitsLossAndGradients() throws {
    let f = try EncoderFixture("roberta")
    try f.checkHead("RobertaForMaskedLM", try AutoModelForMaskedLM.from(directory: f.directory), outputs: [("logits", \.logits)]) {
      $0.labels = try f.t("labels.mlm")
    }
    try f.checkHead(
      "RobertaForSequenceClassification", try AutoModelForSequenceClassification.from(directory: f.directory),
      outputs: [("logits", \.logits)]
    ) { $0.labels = try f.t("labels.class") }
    try f.checkHead(
      "RobertaForTokenClassification", try AutoModelForTokenClassification.from(directory: f.directory),
      outputs: [("logits", \.logits)]
    ) { $0.labels = try f.t("labels.tokens") }
    try f.checkHead(
      "RobertaForQuestionAnswering", try AutoModelForQuestionAnswering.from(directory: f.directory),
      outputs: [("start_logits", \.startLogits), ("end_logits", \.endLogits)]
    ) { inp in
      inp.startPositions = try f.t("start_positions")
      inp.endPositions = try f.t("end_positions")
    }
  }

  func testOnlyLabelledLogitsGiveTheSameLoss() throws {
    let f = try EncoderFixture("roberta")
    let m = try XCTUnwrap(try AutoModelForMaskedLM.from(directory: f.directory) as? RobertaForMaskedLM)
    var inp = try f.inputs()
    inp.labels = try f.t("labels.mlm")
    let full = try m.forward(inp)
    inp.onlyLabelledLogits = true
    let rows = try m.forward(inp)
    let labelled = inp.labels!.int64s.filter { $0 != -100 }.count
    XCTAssertEqual(rows.logits!.shape, [labelled, 40])
    EncoderFixture.assertClose(rows.loss!.reshape([1]), try f.t("RobertaForMaskedLM.loss"), 1e-4, "loss")
    EncoderFixture.assertClose(full.loss!, rows.loss!, 1e-5, "full vs labelled")
  }

  func testFiveAdamWStepsOfMaskedLM() throws {
    let f = try EncoderFixture("roberta")
    try f.checkAdamW(try AutoModelForMaskedLM.from(directory: f.directory))
  }

  func testSaveHasTransformersNames() throws {
    let f = try EncoderFixture("roberta")
    try f.checkSaveMatchesHF(try RobertaForMaskedLM.fromPretrained(f.directory))
  }

  func testTooLongSequenceCountsPaddingOffset() throws {
    let f = try EncoderFixture("roberta")
    let m = try RobertaModel.fromPretrained(f.directory)  // max_position_embeddings 13 → 11 tokens
    XCTAssertEqual(m.maxSequenceLength, 11)
    XCTAssertNoThrow(try m(inputIds: Tensor([Int64](repeating: 5, count: 11), shape: [1, 11])))
    XCTAssertThrowsError(try m(inputIds: Tensor([Int64](repeating: 5, count: 12), shape: [1, 12]))) { error in
      XCTAssertTrue("\(error)".contains("allows 11 tokens"), "\(error)")
    }
  }

  func testWolfBERTaPresetMatchesTheSeeds() {
    let c = RobertaConfig.wolfBERTa()
    XCTAssertEqual(
      [c.bert.vocabSize, c.bert.maxPositionEmbeddings, c.bert.numAttentionHeads, c.bert.numHiddenLayers, c.bert.typeVocabSize],
      [52000, 514, 12, 6, 1])
  }
}
