import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// DistilBERT against transformers on a tiny random DistilBertForMaskedLM checkpoint.
final class DistilBertParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  func testBaseModelHiddenStates() throws {
    let f = try EncoderFixture("distilbert")
    let model = try XCTUnwrap(try AutoModel.from(directory: f.directory) as? DistilBertModel)
    var inp = try f.inputs()
    inp.outputHiddenStates = true
    let out = try model.forward(inp)
    EncoderFixture.assertClose(out.lastHiddenState!, try f.t("model.last_hidden_state"), 1e-4, "last_hidden_state")
    XCTAssertNil(out.poolerOutput)
    for (i, h) in out.hiddenStates!.enumerated() {
      EncoderFixture.assertClose(h, try f.t("model.hidden_states.\(i)"), 1e-4, "hidden_states[\(i)]")
    }
  }

  func testEveryHeadLogitsLossAndGradients() throws {
    let f = try EncoderFixture("distilbert")
    try f.checkHead(
      "DistilBertForMaskedLM", try AutoModelForMaskedLM.from(directory: f.directory), outputs: [("logits", \.logits)]
    ) { $0.labels = try f.t("labels.mlm") }
    try f.checkHead(
      "DistilBertForSequenceClassification", try AutoModelForSequenceClassification.from(directory: f.directory),
      outputs: [("logits", \.logits)]
    ) { $0.labels = try f.t("labels.class") }
    try f.checkHead(
      "DistilBertForTokenClassification", try AutoModelForTokenClassification.from(directory: f.directory),
      outputs: [("logits", \.logits)]
    ) { $0.labels = try f.t("labels.tokens") }
    try f.checkHead(
      "DistilBertForQuestionAnswering", try AutoModelForQuestionAnswering.from(directory: f.directory),
      outputs: [("start_logits", \.startLogits), ("end_logits", \.endLogits)]
    ) { inp in
      inp.startPositions = try f.t("start_positions")
      inp.endPositions = try f.t("end_positions")
    }
  }

  func testFiveAdamWStepsOfMaskedLM() throws {
    let f = try EncoderFixture("distilbert")
    try f.checkAdamW(try AutoModelForMaskedLM.from(directory: f.directory))
  }

  func testSaveHasTransformersNames() throws {
    let f = try EncoderFixture("distilbert")
    try f.checkSaveMatchesHF(try DistilBertForMaskedLM.fromPretrained(f.directory))
  }

  func testSinusoidalPositionsAreFixedAndMatchTransformers() throws {
    var c = DistilBertConfig()
    (c.vocabSize, c.maxPositionEmbeddings, c.nLayers, c.nHeads, c.dim, c.hiddenDim) = (40, 24, 1, 2, 16, 20)
    c.sinusoidalPosEmbds = true
    let m = try DistilBertModel(c)
    let table = m.embeddings.position_embeddings.weight
    XCTAssertFalse(table.requiresGrad)
    let expected = try SafeTensorsFile(path: EncoderFixture.root + "/distilbert-sinusoidal.safetensors")
    EncoderFixture.assertClose(table, try expected.tensor("sinusoidal"), 1e-6, "sinusoidal table")
  }

  func testTokenTypesAreRejected() throws {
    let f = try EncoderFixture("distilbert")
    let m = try DistilBertModel.fromPretrained(f.directory)
    var inp = try f.inputs()
    inp.tokenTypeIds = Tensor.zeros(inp.inputIds.shape, dtype: .int64)
    XCTAssertThrowsError(try m.forward(inp)) { XCTAssertTrue("\($0)".contains("no token types")) }
  }
}
