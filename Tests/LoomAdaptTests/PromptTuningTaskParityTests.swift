import Foundation
import LoomAdapt
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// Prompt tuning on GPT-2's classifier (SEQ_CLS), BERT's token classifier (TOKEN_CLS) and
/// RoBERTa's QA head (QUESTION_ANS) against PEFT, and prompt-tuned Llama / BLOOM generation
/// against PeftModelForCausalLM.generate (fixtures from
/// scripts/fixtures/make_prompt_tuning_task_fixtures.py, Fixtures/prompt-more).
extension PromptTuningMoreParityTests {
  func taskModel(_ name: String, _ task: PeftTaskType, trainable: Bool = true) throws
    -> PromptTuningSequenceClassifier
  {
    let auto: [PeftTaskType: AutoTask] = [
      .sequenceClassification: .sequenceClassification, .tokenClassification: .tokenClassification,
      .questionAnswering: .questionAnswering,
    ]
    let base = try ModelRegistry.loadModel(auto[task]!, from: "\(Self.root)/\(name)/base")
    let encoder = try XCTUnwrap(base as? any Module & EncoderModel & InputEmbeddingsModel, "\(type(of: base))")
    return try PromptTuningSequenceClassifier.fromPretrained(
      base: encoder, adapterDirectory: "\(Self.root)/\(name)/adapter", task: task, isTrainable: trainable)
  }

  func taskInputs(_ e: SafeTensorsFile) throws -> EncoderInputs {
    var inputs = EncoderInputs(
      inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
      labels: e.names.contains("labels") ? try e.tensor("labels") : nil)
    if e.names.contains("start_positions") {
      inputs.startPositions = try e.tensor("start_positions")
      inputs.endPositions = try e.tensor("end_positions")
    }
    return inputs
  }

  /// The outputs (virtual columns dropped for token heads), loss, prompt and head gradients, and
  /// three AdamW steps equal PEFT's; the frozen base gets no gradient.
  func checkTask(_ name: String, _ task: PeftTaskType, heads: [String], outputs: [String]) throws {
    let e = try expected(name)
    let m = try taskModel(name, task)
    m.train()
    XCTAssertEqual(m.headParameters.map(\.0).sorted(), heads.sorted(), "\(name): modules_to_save")
    let out = try m.forward(try taskInputs(e))
    let fields: [String: Tensor?] = [
      "logits": out.logits, "start_logits": out.startLogits, "end_logits": out.endLogits,
    ]
    for field in outputs {
      assertClose(try XCTUnwrap(fields[field] ?? nil), try e.tensor(field), 1e-5, "\(name) \(field)")
    }
    assertClose(try XCTUnwrap(out.loss).reshape([1]), try e.tensor("loss"), 1e-5, "\(name) loss")
    try XCTUnwrap(out.loss).backward()
    assertClose(
      try XCTUnwrap(m.prompt.embedding.weight.grad), try e.tensor("grad.prompt"), 1e-5,
      "\(name) prompt gradient")
    for (path, t) in m.headParameters {
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
      let loss = try XCTUnwrap(try m.forward(try taskInputs(e)).loss)
      loss.backward()
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    let theirs = try e.tensor("adamw.losses").toArray(Double.self)
    XCTAssertEqual(losses.count, theirs.count)
    for (a, b) in zip(losses, theirs) { XCTAssertEqual(a, b, accuracy: 1e-5, "\(name) AdamW losses") }
    assertClose(
      m.prompt.embedding.weight, try e.tensor("adamw.prompt"), 1e-5, "\(name) prompt after AdamW")
  }

  /// GPT-2 from inputs_embeds pools every row at its last column (the fixture left-pads).
  func testGPT2ClassifierMatchesPEFT() throws {
    try checkTask("gpt2-cls", .sequenceClassification, heads: ["score.weight"], outputs: ["logits"])
  }

  func testTokenClassifierMatchesPEFT() throws {
    try checkTask(
      "bert-tok", .tokenClassification, heads: ["classifier.weight", "classifier.bias"],
      outputs: ["logits"])
  }

  func testQuestionAnsweringMatchesPEFT() throws {
    try checkTask(
      "roberta-qa", .questionAnswering, heads: ["qa_outputs.weight", "qa_outputs.bias"],
      outputs: ["start_logits", "end_logits"])
  }

  /// Loom writes PEFT's files for the new heads (tensor names and values) and reads them back to
  /// the same outputs; a TOKEN_CLS adapter on a QA base is a clear error.
  func testTaskAdapterFilesRoundTripAndMismatchesAreClearErrors() throws {
    for (name, task) in [
      ("gpt2-cls", PeftTaskType.sequenceClassification), ("bert-tok", .tokenClassification),
      ("roberta-qa", .questionAnswering),
    ] {
      let m = try taskModel(name, task)
      noGrad { for p in m.trainableParameters { p.copyIn(p * 1.25) } }
      let dir = try temporaryDirectory() + "/" + name
      try m.saveAdapter(to: dir)
      let saved = try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/adapter_config.json"))) as? [String: Any]
      XCTAssertEqual(saved?["task_type"] as? String, task.rawValue, name)
      let theirs = try SafeTensorsFile(path: "\(Self.root)/\(name)/adapter/adapter_model.safetensors")
      let ours = try SafeTensorsFile(path: dir + "/adapter_model.safetensors")
      XCTAssertEqual(ours.names.sorted(), theirs.names.sorted(), name)
      for key in theirs.names {
        assertClose(try ours.tensor(key), try theirs.tensor(key) * 1.25, 1e-6, "\(name) \(key)")
      }
      let fresh = try taskModel(name, task, trainable: false)
      let back = try PromptTuningSequenceClassifier.fromPretrained(
        base: try XCTUnwrap(fresh.base_model as? any Module & EncoderModel & InputEmbeddingsModel),
        adapterDirectory: dir, task: task)
      m.eval()
      back.eval()
      let inputs = try taskInputs(try expected(name))
      let a = try noGrad { try m.forward(inputs).mainLogits }
      let b = try noGrad { try back.forward(inputs).mainLogits }
      XCTAssertEqual(a.toArray(Float.self), b.toArray(Float.self), name)
    }
    let qaBase = try ModelRegistry.loadModel(.questionAnswering, from: "\(Self.root)/roberta-qa/base")
    XCTAssertThrowsError(
      try PromptTuningSequenceClassifier.fromPretrained(
        base: try XCTUnwrap(qaBase as? any Module & EncoderModel & InputEmbeddingsModel),
        adapterDirectory: "\(Self.root)/bert-tok/adapter", task: .questionAnswering)
    ) { XCTAssertTrue("\($0)".contains("task_type is TOKEN_CLS; this is a question-answering model"), "\($0)") }
    let tokBase = try ModelRegistry.loadModel(.tokenClassification, from: "\(Self.root)/bert-tok/base")
    let m = try PromptTuningSequenceClassifier.fromPretrained(
      base: try XCTUnwrap(tokBase as? any Module & EncoderModel & InputEmbeddingsModel),
      adapterDirectory: "\(Self.root)/bert-tok/adapter", task: .tokenClassification)
    var bad = try taskInputs(try expected("bert-tok"))
    bad.labels = Tensor([Int64(0), 1], shape: [2])
    XCTAssertThrowsError(try m.forward(bad)) {
      XCTAssertTrue("\($0)".contains("token labels are [batch, sequence]"), "\($0)")
    }
  }

  struct PeftGeneration: Decodable {
    let prompts: [[Int]]
    let greedy: [Int]
    let beam: [[Int]]
    let batched_greedy: [[Int]]
    let batched_beam: [[Int]]
    let eos_token_id: Int?
    let pad_token_id: Int?
  }

  static func peftGeneration() throws -> [String: PeftGeneration] {
    let data = try Data(contentsOf: URL(fileURLWithPath: root + "/generate.json"))
    return try JSONDecoder().decode([String: PeftGeneration].self, from: data)
  }

  /// Greedy and beam ids equal PEFT's generate (use_cache=False there; Loom caches the prompt).
  func testLlamaAndBloomPromptTunedGenerationMatchesPEFT() throws {
    for (name, g) in try Self.peftGeneration().sorted(by: { $0.key < $1.key }) {
      let m = try causal(name)
      m.eval()
      func config(_ body: (inout GenerationConfig) -> Void) -> GenerationConfig {
        var c = GenerationConfig()
        c.eosTokenIds = g.eos_token_id.map { [$0] } ?? []
        c.padTokenId = g.pad_token_id ?? g.eos_token_id
        body(&c)
        return c
      }
      XCTAssertEqual(
        try Generation.generate(m, prompts: [g.prompts[0]], config: config { $0.maxNewTokens = 8 })[0],
        g.greedy, "\(name) greedy")
      let beams = try Generation.generate(
        m, prompts: [g.prompts[0]],
        config: config {
          $0.maxNewTokens = 8
          $0.numBeams = 3
          $0.numReturnSequences = 2
          $0.earlyStopping = .enabled
        })
      XCTAssertEqual(beams, g.beam, "\(name) beam")
      XCTAssertEqual(
        try Generation.generate(m, prompts: g.prompts, config: config { $0.maxNewTokens = 6 }),
        g.batched_greedy, "\(name) left-padded batch, greedy")
      XCTAssertEqual(
        try Generation.generate(
          m, prompts: g.prompts,
          config: config {
            $0.maxNewTokens = 6
            $0.numBeams = 2
          }), g.batched_beam, "\(name) left-padded batch, beam")
    }
  }
}
