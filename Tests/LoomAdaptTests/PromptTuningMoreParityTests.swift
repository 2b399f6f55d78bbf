import Foundation
import LoomAdapt
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// Prompt tuning beyond GPT-2 against PEFT 0.21.2: PeftModelForSequenceClassification on BERT,
/// RoBERTa, DistilBERT, Llama and BLOOM, PeftModelForCausalLM on Llama and BLOOM (fixtures from
/// scripts/fixtures/make_prompt_tuning_fixtures.py and make_prompt_tuning_cls_fixtures.py,
/// Fixtures/prompt-more).
final class PromptTuningMoreParityTests: XCTestCase {
  static let root = PromptTuningParityTests.fixtures + "/prompt-more"

  func expected(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: "\(Self.root)/\(name)/expected.safetensors")
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

  func classifier(_ name: String, trainable: Bool = true) throws -> PromptTuningSequenceClassifier {
    let base = try ModelRegistry.loadModel(
      .sequenceClassification, from: "\(Self.root)/\(name)/base")
    let encoder = try XCTUnwrap(base as? any Module & EncoderModel & InputEmbeddingsModel)
    return try PromptTuningSequenceClassifier.fromPretrained(
      base: encoder, adapterDirectory: "\(Self.root)/\(name)/adapter", isTrainable: trainable)
  }

  func classifierInputs(_ e: SafeTensorsFile) throws -> EncoderInputs {
    EncoderInputs(
      inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
      tokenTypeIds: e.names.contains("token_type_ids") ? try e.tensor("token_type_ids") : nil,
      labels: try e.tensor("labels"))
  }

  /// Logits, loss, the prompt's and the heads' gradients, and three AdamW steps equal PEFT's.
  func checkClassifier(_ name: String, heads: [String]) throws {
    let e = try expected(name)
    let m = try classifier(name)
    m.train()
    XCTAssertEqual(m.headParameters.map(\.0).sorted(), heads.sorted(), "\(name): modules_to_save")
    let out = try m.forward(try classifierInputs(e))
    assertClose(try XCTUnwrap(out.logits), try e.tensor("logits"), 1e-5, "\(name) logits")
    assertClose(try XCTUnwrap(out.loss).reshape([1]), try e.tensor("loss"), 1e-5, "\(name) loss")
    try XCTUnwrap(out.loss).backward()
    assertClose(
      try XCTUnwrap(m.prompt.embedding.weight.grad), try e.tensor("grad.prompt"), 1e-5,
      "\(name) prompt gradient")
    for (path, t) in m.headParameters {
      // PEFT's ModulesToSaveWrapper names: classifier.modules_to_save.default.weight
      let parts = path.split(separator: ".")
      let pyName =
        "grad.base_model." + parts[0] + ".modules_to_save.default."
        + parts.dropFirst().joined(separator: ".")
      assertClose(try XCTUnwrap(t.grad), try e.tensor(pyName), 1e-5, "\(name) \(path) gradient")
    }
    for (n, p) in m.namedParameters() where !m.trainableParameters.contains(where: { $0 === p }) {
      XCTAssertNil(p.grad, "\(name): frozen \(n) gets no gradient")
    }
    for p in m.trainableParameters { p.grad = nil }
    let opt = AdamW(m.trainableParameters, lr: 3e-2, weightDecay: 0.01)
    var losses: [Double] = []
    for _ in 0..<3 {
      let loss = try XCTUnwrap(try m.forward(try classifierInputs(e)).loss)
      loss.backward()
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    for (a, b) in zip(losses, try e.tensor("adamw.losses").toArray(Double.self)) {
      XCTAssertEqual(a, b, accuracy: 1e-5, "\(name) AdamW losses")
    }
    assertClose(
      m.prompt.embedding.weight, try e.tensor("adamw.prompt"), 1e-5, "\(name) prompt after AdamW")
  }

  func testBertClassifierMatchesPEFT() throws {
    try checkClassifier("bert", heads: ["classifier.weight", "classifier.bias"])
  }

  func testRobertaClassifierMatchesPEFT() throws {
    try checkClassifier(
      "roberta",
      heads: [
        "classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
        "classifier.out_proj.bias",
      ])
  }

  func testDistilBertClassifierMatchesPEFT() throws {
    // PEFT's modules_to_save matches path endings: "pre_classifier" ends with "classifier".
    try checkClassifier(
      "distilbert",
      heads: [
        "pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias",
      ])
  }

  /// Decoder-only classifiers: PEFT runs them from inputs_embeds, so HF pools each row at its
  /// last column (the fixture left-pads); `score` is the head PEFT saves.
  func testLlamaClassifierMatchesPEFT() throws {
    try checkClassifier("llama-cls", heads: ["score.weight"])
  }

  func testBloomClassifierMatchesPEFT() throws {
    try checkClassifier("bloom-cls", heads: ["score.weight"])
  }

  func causal(_ name: String) throws -> PromptTuningCausalLM {
    let base = try AutoModelForCausalLM.from(directory: "\(Self.root)/\(name)/base")
    let lm = try XCTUnwrap(base as? any Module & InputEmbeddingsCausalLM)
    return try PromptTuningCausalLM.fromPretrained(
      base: lm, adapterDirectory: "\(Self.root)/\(name)/adapter", isTrainable: true)
  }

  func checkCausal(_ name: String) throws {
    let e = try expected(name)
    let m = try causal(name)
    m.train()
    let run = {
      m.forward(
        inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
        labels: try e.tensor("labels"))
    }
    let out = try run()
    assertClose(out.logits, try e.tensor("logits"), 1e-5, "\(name) logits [B, n + T, V]")
    assertClose(try XCTUnwrap(out.loss).reshape([1]), try e.tensor("loss"), 1e-5, "\(name) loss")
    try XCTUnwrap(out.loss).backward()
    assertClose(
      try XCTUnwrap(m.prompt.embedding.weight.grad), try e.tensor("grad.prompt"), 1e-5,
      "\(name) prompt gradient")
    m.prompt.embedding.weight.grad = nil
    let opt = AdamW(m.trainableParameters, lr: 3e-2, weightDecay: 0.01)
    var losses: [Double] = []
    for _ in 0..<3 {
      let loss = try XCTUnwrap(try run().loss)
      loss.backward()
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    for (a, b) in zip(losses, try e.tensor("adamw.losses").toArray(Double.self)) {
      XCTAssertEqual(a, b, accuracy: 1e-5, "\(name) AdamW losses")
    }
    assertClose(
      m.prompt.embedding.weight, try e.tensor("adamw.prompt"), 1e-5, "\(name) prompt after AdamW")
  }

  func testLlamaCausalLMMatchesPEFT() throws { try checkCausal("llama") }

  func testBloomCausalLMMatchesPEFT() throws { try checkCausal("bloom") }

  func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "loom-prompt-cls-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  /// PEFT's files both ways: the config Loom writes is PEFT's byte for byte, the tensors carry
  /// PEFT's names and values, and a saved adapter loads back to the same logits.
  func testClassifierAdapterFilesRoundTripInPEFTsLayout() throws {
    for name in ["bert", "roberta", "distilbert", "llama-cls", "bloom-cls"] {
      let m = try classifier(name)
      noGrad { for p in m.trainableParameters { p.copyIn(p * 1.25) } }
      let dir = try temporaryDirectory() + "/" + name
      try m.saveAdapter(to: dir)
      let peftText = try String(
        contentsOfFile: "\(Self.root)/\(name)/adapter/adapter_config.json", encoding: .utf8)
      XCTAssertEqual(
        try String(contentsOfFile: dir + "/adapter_config.json", encoding: .utf8), peftText, name)
      let theirs = try SafeTensorsFile(
        path: "\(Self.root)/\(name)/adapter/adapter_model.safetensors")
      let ours = try SafeTensorsFile(path: dir + "/adapter_model.safetensors")
      XCTAssertEqual(ours.names.sorted(), theirs.names.sorted(), name)
      for key in theirs.names {
        assertClose(try ours.tensor(key), try theirs.tensor(key) * 1.25, 1e-6, "\(name) \(key)")
      }
      let again = try classifier(name, trainable: false)
      let back = try PromptTuningSequenceClassifier.fromPretrained(
        base: try XCTUnwrap(again.base_model as? any Module & EncoderModel & InputEmbeddingsModel),
        adapterDirectory: dir)
      XCTAssertFalse(back.prompt.embedding.weight.requiresGrad, "loaded for inference unless asked")
      let inputs = try classifierInputs(try expected(name))
      m.eval()
      back.eval()
      let a = noGrad { try? m.forward(inputs).logits }
      let b = noGrad { try? back.forward(inputs).logits }
      XCTAssertEqual(
        try XCTUnwrap(a).toArray(Float.self), try XCTUnwrap(b).toArray(Float.self), name)
    }
  }

  func testBadClassifierInputsAndAdaptersAreClearErrors() throws {
    let m = try classifier("bert")
    XCTAssertThrowsError(
      try m.forward(EncoderInputs(inputIds: Tensor([Int64(3), 99], shape: [1, 2])))
    ) {
      XCTAssertTrue("\($0)".contains("outside the base model's vocabulary of 40"), "\($0)")
    }
    // A BERT adapter on a RoBERTa base: the head's tensors do not fit.
    let roberta = try ModelRegistry.loadModel(
      .sequenceClassification, from: "\(Self.root)/roberta/base")
    XCTAssertThrowsError(
      try PromptTuningSequenceClassifier.fromPretrained(
        base: try XCTUnwrap(roberta as? any Module & EncoderModel & InputEmbeddingsModel),
        adapterDirectory: "\(Self.root)/bert/adapter")
    ) { XCTAssertTrue("\($0)".contains("is not a modules_to_save parameter"), "\($0)") }
    // A causal-LM adapter on a classifier.
    let bert = try ModelRegistry.loadModel(.sequenceClassification, from: "\(Self.root)/bert/base")
    XCTAssertThrowsError(
      try PromptTuningSequenceClassifier.fromPretrained(
        base: try XCTUnwrap(bert as? any Module & EncoderModel & InputEmbeddingsModel),
        adapterDirectory: "\(Self.root)/llama/adapter")
    ) { XCTAssertTrue("\($0)".contains("task_type is CAUSAL_LM"), "\($0)") }
  }

  /// The classifiers' inputs_embeds path equals the ids path when the embeddings are the lookup
  /// and nothing is padded (RoBERTa's positions differ with padding, as in HF; Llama and BLOOM
  /// then pool at the last column either way).
  func testEncoderInputsEmbedsEqualIdsWithoutPadding() throws {
    for name in ["bert", "distilbert", "roberta", "llama-cls", "bloom-cls"] {
      let base = try ModelRegistry.loadModel(
        .sequenceClassification, from: "\(Self.root)/\(name)/base")
      let encoder = try XCTUnwrap(base as? any Module & EncoderModel & InputEmbeddingsModel)
      encoder.eval()
      let ids = Tensor([Int64(5), 9, 17, 30, 4], shape: [1, 5])
      let byIds = try encoder.forward(EncoderInputs(inputIds: ids)).logits!
      let byEmbeds = try encoder.forward(EncoderInputs(inputsEmbeds: encoder.inputEmbeddings(ids)))
        .logits!
      assertClose(byEmbeds, byIds, 1e-6, name)
    }
  }

  /// Decoder-only classifiers from inputs_embeds: HF's batch-of-one rule without a pad token,
  /// and clear errors for embeddings or masks of the wrong shape.
  func testDecoderClassifierInputsEmbedsRulesAndErrors() throws {
    let e = Tensor.zeros([2, 3, 16])
    XCTAssertEqual(try LlamaForSequenceClassification.lastColumns(e, padTokenId: 1), [2, 2])
    XCTAssertEqual(
      try LlamaForSequenceClassification.lastColumns(e.slice(dim: 0, end: 1), padTokenId: nil), [2])
    XCTAssertThrowsError(try LlamaForSequenceClassification.lastColumns(e, padTokenId: nil)) {
      XCTAssertTrue("\($0)".contains("pad_token_id"), "\($0)")
    }
    for (name, model) in [("llama-cls", "Llama"), ("bloom-cls", "Bloom")] {
      let base = try ModelRegistry.loadModel(
        .sequenceClassification, from: "\(Self.root)/\(name)/base")
      let m = try XCTUnwrap(base as? any EncoderModel)
      XCTAssertThrowsError(try m.forward(EncoderInputs(inputsEmbeds: Tensor.zeros([1, 3, 8])))) {
        XCTAssertTrue(
          "\($0)".contains("\(model): inputs_embeds must be [batch, sequence, 16]"), "\($0)")
      }
      XCTAssertThrowsError(
        try m.forward(EncoderInputs(inputsEmbeds: e, attentionMask: Tensor.ones([2, 4])))
      ) { XCTAssertTrue("\($0)".contains("attention_mask must be [batch, sequence]"), "\($0)") }
    }
  }
}
