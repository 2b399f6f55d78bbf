import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// BLOOM against Hugging Face transformers on tiny random checkpoints written by
/// scripts/fixtures/make_bloom_fixtures.py (3, 5 and 6 heads: ALiBi slopes beyond powers of two;
/// row 1 of every batch left-padded).
final class BloomParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let expected = try! SafeTensorsFile(path: fixtures + "/bloom-tiny-expected.safetensors")

  struct GenerateFixture: Decodable {
    let prompts: [[Int]]
    let batched_greedy: [[Int]]
    let batched_beam: [[Int]]
    let beam: [[Int]]
    let text_prompt: String
    let text: String
  }

  static let generation: GenerateFixture = {
    let data = FileManager.default.contents(atPath: fixtures + "/bloom-tiny-generate.json")!
    return try! JSONDecoder().decode(GenerateFixture.self, from: data)
  }()

  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func causalLM(_ dir: String) throws -> BloomForCausalLM {
    try XCTUnwrap(
      try AutoModelForCausalLM.from(directory: Self.fixtures + "/" + dir) as? BloomForCausalLM)
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

  /// [B, T, …] compared at real tokens only: a padding query sees no key (HF's eager mask gives
  /// it a uniform row, Loom zeros), and nothing reads it.
  func assertCloseAtTokens(_ a: Tensor, _ b: Tensor, mask: Tensor, _ tol: Double, _ what: String) {
    XCTAssertEqual(a.shape, b.shape, what)
    let keep = mask.to(.int64).int64s.enumerated().filter { $0.element == 1 }.map {
      Int64($0.offset)
    }
    let index = Tensor(keep, shape: [keep.count], device: .cpu)
    let rows = { (t: Tensor) in
      t.to(device: .cpu).reshape([a.shape[0] * a.shape[1], -1]).indexSelect(dim: 0, index: index)
    }
    assertClose(rows(a), rows(b), tol, what)
  }

  func checkCausal(_ prefix: String, dir: String, parameters: Int) throws {
    let m = try causalLM(dir)
    m.train()
    let mask = try tensor("\(prefix).attention_mask")
    let out = try m.forward(
      EncoderInputs(
        inputIds: try tensor("\(prefix).input_ids"), attentionMask: mask,
        labels: try tensor("\(prefix).labels")))
    assertCloseAtTokens(
      out.lastHiddenState!, try tensor("\(prefix).hidden"), mask: mask, 1e-4, "\(prefix) hidden")
    assertCloseAtTokens(
      out.logits!, try tensor("\(prefix).logits"), mask: mask, 1e-4, "\(prefix) logits")
    assertClose(out.loss!.reshape([1]), try tensor("\(prefix).loss"), 1e-5, "\(prefix) loss")
    out.loss!.backward()
    let params = m.namedParameters()
    XCTAssertEqual(params.count, parameters)
    XCTAssertEqual(
      params.count, Self.expected.names.filter { $0.hasPrefix("\(prefix).grad.") }.count)
    for (name, p) in params {
      assertClose(p.grad!, try tensor("\(prefix).grad.\(name)"), 1e-5, "\(prefix) grad \(name)")
    }
  }

  func testCausalLMHiddenLogitsLossAndEveryGradientMatchTransformers() throws {
    // Tied head: embeddings and their norm (3), 12 per block (2 blocks), ln_f (2).
    try checkCausal("lm", dir: "bloom-tiny", parameters: 29)
  }

  func testPostLayernormResidualAndUntiedHeadMatchTransformers() throws {
    try checkCausal("post", dir: "bloom-tiny-post", parameters: 30)
  }

  /// Five AdamW steps with clipping, as the script's loop.
  func testFiveAdamWStepsMatchTransformers() throws {
    let m = try causalLM("bloom-tiny-post")
    m.train()
    let inputs = EncoderInputs(
      inputIds: try tensor("post.input_ids"), attentionMask: try tensor("post.attention_mask"),
      labels: try tensor("post.labels"))
    let opt = AdamW(decayGroups(m, lr: 1e-3, weightDecay: 0.1))
    var losses: [Double] = []
    for _ in 0..<5 {
      let loss = try m.forward(inputs).loss!
      loss.backward()
      clipGradNorm(m.parameters(), maxNorm: 1)
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    for (a, b) in zip(losses, try tensor("post.adamw.losses").toArray(Double.self)) {
      XCTAssertEqual(a, b, accuracy: 1e-4)
    }
    let (c, heads) = (m.config.hiddenSize, m.config.nHead)
    let d = c / heads
    for (name, p) in m.namedParameters() {
      var mine = p
      var theirs = try tensor("post.adamw.\(name)")
      if name.hasSuffix("query_key_value.bias") {
        // The key bias adds q·b_k to a whole row of scores, which softmax ignores: its gradient
        // is rounding noise that Adam turns into ±lr steps. Compare the query and value parts.
        let keep = (0..<3 * c).filter { ($0 % (3 * d)) / d != 1 }.map(Int64.init)
        let index = Tensor(keep, shape: [keep.count], device: .cpu)
        (mine, theirs) = (
          p.to(device: .cpu).indexSelect(dim: 0, index: index),
          theirs.indexSelect(dim: 0, index: index)
        )
      }
      assertClose(mine, theirs, 1e-4, "parameter \(name) after 5 steps")
    }
  }

  func testSequenceAndTokenClassificationMatchTransformers() throws {
    for (prefix, task) in [("cls", AutoTask.sequenceClassification), ("tok", .tokenClassification)]
    {
      let dir = Self.fixtures + "/bloom-tiny-" + prefix
      let loaded: Module =
        task == .sequenceClassification
        ? try AutoModelForSequenceClassification.from(directory: dir)
        : try AutoModelForTokenClassification.from(directory: dir)
      let m = try XCTUnwrap(loaded as? any EncoderModel)
      XCTAssertTrue(
        prefix == "cls" ? m is BloomForSequenceClassification : m is BloomForTokenClassification)
      m.train()
      let mask = try tensor("\(prefix).attention_mask")
      let out = try m.forward(
        EncoderInputs(
          inputIds: try tensor("\(prefix).input_ids"), attentionMask: mask,
          labels: try tensor("\(prefix).labels")))
      if prefix == "cls" {
        // Pooled at the last non-pad token: row 1 is left-padded, so both rows pool position 8.
        assertClose(out.logits!, try tensor("cls.logits"), 1e-5, "cls logits")
      } else {
        assertCloseAtTokens(out.logits!, try tensor("tok.logits"), mask: mask, 1e-5, "tok logits")
      }
      assertClose(out.loss!.reshape([1]), try tensor("\(prefix).loss"), 1e-5, "\(prefix) loss")
      out.loss!.backward()
      for (name, p) in m.namedParameters() {
        assertClose(p.grad!, try tensor("\(prefix).grad.\(name)"), 1e-5, "\(prefix) grad \(name)")
      }
    }
  }

  func testSequenceClassificationPoolsTheLastNonPadToken() throws {
    let ids = Tensor([Int64(5), 6, 3, 3, 3, 3, 7, 8], shape: [2, 4])
    XCTAssertEqual(try BloomForSequenceClassification.lastTokens(ids, padTokenId: 3), [1, 3])
    XCTAssertEqual(
      try BloomForSequenceClassification.lastTokens(ids.slice(dim: 0, end: 1), padTokenId: nil), [3]
    )
    XCTAssertThrowsError(try BloomForSequenceClassification.lastTokens(ids, padTokenId: nil)) {
      XCTAssertTrue("\($0)".contains("pad_token_id"), "\($0)")
    }
  }

  func config(_ m: BloomForCausalLM, _ body: (inout GenerationConfig) -> Void) -> GenerationConfig {
    var c = GenerationConfig(defaultsOf: m.config)
    body(&c)
    return c
  }

  func testLeftPaddedGreedyAndBeamMatchTransformers() throws {
    let m = try causalLM("bloom-tiny")
    m.eval()
    let g = Self.generation
    XCTAssertEqual(
      try Generation.generate(m, prompts: g.prompts, config: config(m) { $0.maxNewTokens = 8 }),
      g.batched_greedy)
    XCTAssertEqual(
      try Generation.generate(
        m, prompts: g.prompts,
        config: config(m) {
          $0.maxNewTokens = 8
          $0.numBeams = 3
          $0.lengthPenalty = 1.3
          $0.noRepeatNgramSize = 2
        }), g.batched_beam)
    XCTAssertEqual(
      try Generation.generate(
        m, prompts: [g.prompts[0]],
        config: config(m) {
          $0.maxNewTokens = 10
          $0.numBeams = 4
          $0.numReturnSequences = 2
          $0.earlyStopping = .enabled
        }), g.beam)
  }

  /// Cached decoding with the ALiBi column stored in the keys gives the full forward's logits.
  func testKVCacheGivesTheSameLogitsAsAFullForward() throws {
    let m = try causalLM("bloom-tiny")
    let ids = Tensor([Int64(3), 3, 42, 8, 23, 39, 11, 17, 9, 60, 31, 9, 12, 5], shape: [2, 7])
    let mask = Tensor([Int64(0), 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], shape: [2, 7])
    let full = noGrad { m(ids, attentionMask: mask) }
    let caches = m.makeState(batch: 2, capacity: 2).selfAttention
    var steps = [
      noGrad {
        m(ids.slice(dim: 1, end: 4), attentionMask: mask.slice(dim: 1, end: 4), caches: caches)
      }
    ]
    for t in 4..<7 {
      steps.append(
        noGrad {
          m(
            ids.slice(dim: 1, start: t, end: t + 1), attentionMask: mask.slice(dim: 1, end: t + 1),
            caches: caches)
        })
    }
    assertCloseAtTokens(Tensor.cat(steps, dim: 1), full, mask: mask, 1e-4, "cached logits")
  }

  /// ALiBi rides in the q/k columns, so training takes the fused flash kernel (not the
  /// composite path that materialises scores), with and without a padding mask.
  func testAttentionRunsTheFusedKernel() throws {
    let m = try causalLM("bloom-tiny")
    m.train()
    let ids = try tensor("lm.input_ids")
    for mask in [nil, try tensor("lm.attention_mask")] {
      let dot = GraphDOT.make(m(ids, attentionMask: mask).sum())
      XCTAssertEqual(
        dot.components(separatedBy: "ScaledDotProductFlashAttentionBackward").count - 1, 2,
        "one per block")
      XCTAssertFalse(dot.contains("SoftmaxBackward"), "no composite attention")
    }
  }

  /// HF's `_get_alibi_slopes` for powers of two and not, and positions that skip left padding.
  func testAlibiSlopesAndPositions() {
    XCTAssertEqual(Alibi.slopes(heads: 8), (1...8).map { Float(pow(2.0, -Double($0))) })
    XCTAssertEqual(Alibi.slopes(heads: 3), [0.0625, 0.00390625, 0.25])
    XCTAssertEqual(Alibi.slopes(heads: 6), [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125])
    XCTAssertEqual(Alibi.slopes(heads: 1), [0.00390625])
    let mask = Tensor([Int64(0), 0, 1, 1, 1, 1, 1, 1, 1, 0], shape: [2, 5])
    XCTAssertEqual(
      Alibi.positions(batch: 2, past: 0, length: 5, attentionMask: mask),
      [0, 0, 0, 1, 2, 0, 1, 2, 3, 0])
    XCTAssertEqual(
      Alibi.positions(batch: 2, past: 3, length: 2, attentionMask: mask), [1, 2, 3, 0])
    XCTAssertEqual(Alibi.positions(batch: 1, past: 2, length: 2, attentionMask: nil), [2, 3])
  }

  func testSaveWritesHFNamesAndRoundTrips() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bloom-\(UUID())")
      .path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for name in ["bloom-tiny", "bloom-tiny-post"] {
      let m = try causalLM(name)
      try m.savePretrained(to: dir)
      let theirs = try SafeTensorsFile(path: Self.fixtures + "/\(name)/model.safetensors").names
        .sorted()
      XCTAssertEqual(
        try SafeTensorsFile(path: dir + "/model.safetensors").names.sorted(), theirs, name)
      XCTAssertTrue(theirs.contains("transformer.h.1.self_attention.query_key_value.weight"))
      XCTAssertTrue(theirs.contains("transformer.word_embeddings_layernorm.weight"))
      let config =
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
      XCTAssertEqual(config["model_type"] as? String, "bloom")
      XCTAssertEqual(config["architectures"] as? [String], ["BloomForCausalLM"])
      XCTAssertEqual(config["n_head"] as? Int, m.config.nHead)
      let ids = Tensor([Int64(5), 17, 42, 8], shape: [1, 4])
      let again = try XCTUnwrap(try AutoModelForCausalLM.from(directory: dir) as? BloomForCausalLM)
      assertClose(noGrad { again(ids) }, noGrad { m(ids) }, 0, "\(name) reloaded logits")
    }
  }

  /// A causal-LM checkpoint loads as the base model and as a classifier (fresh `score`).
  func testOtherClassesLoadACausalLMCheckpoint() throws {
    let dir = Self.fixtures + "/bloom-tiny"
    let base = try XCTUnwrap(try AutoModel.from(directory: dir) as? BloomModel)
    let lm = try causalLM("bloom-tiny")
    let ids = Tensor([Int64(5), 17, 42, 8], shape: [1, 4])
    assertClose(noGrad { base(ids) }, noGrad { lm.transformer(ids) }, 0, "base hidden states")
    let cls = try XCTUnwrap(
      try AutoModelForSequenceClassification.from(directory: dir) as? BloomForSequenceClassification
    )
    XCTAssertEqual(cls.score.weight.shape, [2, 12])
    assertClose(
      cls.transformer.word_embeddings.weight, lm.transformer.word_embeddings.weight, 0,
      "trunk loaded")
  }

  func testConfigAliasesAndBadConfigsAreClearErrors() throws {
    func decode(_ json: String) throws -> BloomConfig {
      try ConfigFile.decode(BloomConfig.self, from: Data(json.utf8), path: "config.json")
    }
    let old = try decode(
      #"{"n_embed": 32, "num_hidden_layers": 3, "num_attention_heads": 4, "vocab_size": 100}"#)
    XCTAssertEqual([old.hiddenSize, old.nLayer, old.nHead, old.vocabSize], [32, 3, 4, 100])
    XCTAssertEqual(BloomConfig(), try decode("{}"), "HF's defaults")
    let bad: [(String, String)] = [
      (#"{"hidden_size": 30, "n_head": 4}"#, "must be divisible by n_head"),
      (#"{"n_head": 0}"#, "n_head must be positive"),
      (#"{"hidden_dropout": 1.5}"#, "hidden_dropout must be in [0, 1)"),
      (#"{"layer_norm_epsilon": 0}"#, "layer_norm_epsilon must be positive"),
      (#"{"vocab_size": 1e12}"#, "vocab_size"),
      (#"{"pretraining_tp": 3, "slow_but_exact": true, "hidden_size": 64}"#, "pretraining_tp"),
      (#"{"hidden_size": "wide"}"#, "hidden_size"),
    ]
    for (json, message) in bad {
      XCTAssertThrowsError(try decode(json), json) {
        XCTAssertTrue("\($0)".contains(message), "\(json): \($0)")
      }
    }
  }

  func testBadInputsAreClearErrors() throws {
    let m = try causalLM("bloom-tiny")
    XCTAssertThrowsError(
      try m.forward(EncoderInputs(inputIds: Tensor([Int64(5), 400], shape: [1, 2])))
    ) {
      XCTAssertTrue("\($0)".contains("vocab_size"), "\($0)")
    }
    XCTAssertThrowsError(
      try m.forward(
        EncoderInputs(
          inputIds: Tensor([Int64(5), 6], shape: [1, 2]),
          attentionMask: Tensor([Int64(1)], shape: [1, 1])))
    ) { XCTAssertTrue("\($0)".contains("attention_mask"), "\($0)") }
  }
}
