import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import LoomTestSupport
import XCTest

/// Llama against Hugging Face transformers on tiny random checkpoints written by
/// scripts/fixtures/make_llama_fixtures.py: llama-tiny (grouped-query attention, untied
/// head, rope_theta 500, pad 0) and llama-tied (tied head, biases, eos a list).
final class LlamaParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let expected = try! SafeTensorsFile(path: fixtures + "/llama-expected.safetensors")

  struct GenerateFixture: Decodable {
    let batched_prompts: [[Int]]
    let batched_mask: [[Int]]
    let batched_greedy: [[Int]]
    let batched_beam: [[Int]]
    let tied_prompt: [Int]
    let tied_greedy: [Int]
    let cli_prompt: String
    let cli_prompt_ids: [Int]
    let cli_text: String
  }

  static let generation: GenerateFixture = {
    let data = FileManager.default.contents(atPath: fixtures + "/llama-generate.json")!
    return try! JSONDecoder().decode(GenerateFixture.self, from: data)
  }()

  /// Loaded through the Auto registry, as `loom generate` loads it.
  func model(_ name: String) throws -> LlamaForCausalLM {
    let m = try AutoModelForCausalLM.from(directory: Self.fixtures + "/llama-\(name)")
    return try XCTUnwrap(m as? LlamaForCausalLM)
  }

  func tensor(_ key: String) throws -> Tensor { try Self.expected.tensor(key) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func testLogitsLossAndEveryGradientMatchTransformers() throws {
    for name in ["tiny", "tied"] {
      let m = try model(name)
      XCTAssertEqual(m.config.keyValueHeads, name == "tiny" ? 1 : 4)
      XCTAssertEqual(m.config.ropeTheta, name == "tiny" ? 500 : 10000)
      XCTAssertEqual(m.lm_head == nil, name == "tied")
      let (loss, logits) = m.loss(
        try tensor("\(name).input_ids"), labels: try tensor("\(name).labels"))
      XCTAssertEqual(logits.device, TestDevice.device)
      assertClose(logits, try tensor("\(name).logits"), 1e-4, "\(name) logits")
      assertClose(loss.reshape([1]), try tensor("\(name).loss"), 1e-4, "\(name) loss")
      loss.backward()
      let params = m.namedParameters()
      XCTAssertEqual(
        params.count, Self.expected.names.filter { $0.hasPrefix("\(name).grad.") }.count, name)
      for (key, p) in params {
        assertClose(p.grad!, try tensor("\(name).grad.\(key)"), 1e-4, "\(name) grad \(key)")
      }
    }
  }

  /// The Trainer's update: AdamW without decay on 1-d weights, linear warmup and decay,
  /// clipping at 1.0, five steps.
  func testFiveAdamWStepsMatchTransformers() throws {
    let m = try model("tiny")
    let ids = try tensor("tiny.input_ids")
    let labels = try tensor("tiny.labels")
    let opt = AdamW(decayGroups(m, lr: 1e-3, weightDecay: 0.1))
    let scheduler = LRScheduler(opt, schedule: .linear(warmupSteps: 2, totalSteps: 10))
    var losses: [Double] = []
    for _ in 0..<5 {
      let loss = m.loss(ids, labels: labels).loss
      loss.backward()
      clipGradNorm(m.parameters(), maxNorm: 1)
      opt.step()
      scheduler.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    for (a, b) in zip(losses, try tensor("tiny.adamw.losses").toArray(Double.self)) {
      XCTAssertEqual(a, b, accuracy: 1e-4)
    }
    for (key, p) in m.namedParameters() {
      assertClose(p, try tensor("tiny.adamw.\(key)"), 1e-4, "parameter \(key) after 5 steps")
    }
  }

  func config(eos: [Int], pad: Int?, _ body: (inout GenerationConfig) -> Void) -> GenerationConfig {
    var c = GenerationConfig()
    c.eosTokenIds = eos
    c.padTokenId = pad
    body(&c)
    return c
  }

  /// Left-padded prompts take positions from the attention mask, as transformers' generate.
  func testGreedyAndBeamOnALeftPaddedBatchMatchTransformers() throws {
    let m = try model("tiny")
    m.eval()
    let g = Self.generation
    let prompts = zip(g.batched_prompts, g.batched_mask).map { p, mask in
      zip(p, mask).filter { $0.1 == 1 }.map(\.0)
    }
    XCTAssertEqual(prompts[0].count, 3)
    let greedy = try Generation.generate(
      m, prompts: prompts, config: config(eos: [2], pad: 0) { $0.maxNewTokens = 8 })
    XCTAssertEqual(greedy, g.batched_greedy)
    let beam = try Generation.generate(
      m, prompts: prompts,
      config: config(eos: [2], pad: 0) {
        $0.maxNewTokens = 6
        $0.numBeams = 3
        $0.numReturnSequences = 2
      })
    XCTAssertEqual(beam, g.batched_beam)
    let tied = try model("tied")
    tied.eval()
    let out = try Generation.generate(
      tied, prompts: [g.tied_prompt],
      config: config(eos: tied.config.eosTokenIds, pad: nil) { $0.maxNewTokens = 10 })
    XCTAssertEqual(tied.config.eosTokenIds, [2, 3])
    XCTAssertEqual(out[0], g.tied_greedy)
  }

  func testKVCacheGivesTheSameLogitsAsAFullForward() throws {
    let m = try model("tiny")
    let ids = Tensor([Int64(5), 17, 42, 8, 23, 39, 1], shape: [1, 7])
    let full = noGrad { m(ids) }
    let caches = m.makeCaches(batch: 1, capacity: 4)  // grows past its capacity
    var steps = [noGrad { m(ids.slice(dim: 1, end: 4), caches: caches) }]
    for t in 4..<7 {
      steps.append(noGrad { m(ids.slice(dim: 1, start: t, end: t + 1), caches: caches) })
    }
    assertClose(Tensor.cat(steps, dim: 1), full, 1e-4, "cached logits")
  }

  /// Heads on llama-tiny's trunk: pooled at each row's last non-pad token (right and left
  /// padding), token logits with dropout off.
  func testClassificationHeadsMatchTransformers() throws {
    let lm = try model("tiny")
    var c = lm.config
    c.numLabels = 3
    let seq = try LlamaForSequenceClassification(c)
    try seq.model.loadStateDict(lm.model.stateDict())
    try seq.score.loadStateDict(["weight": try tensor("seqcls.score.weight")])
    seq.to(device: TestDevice.device)
    seq.eval()
    let ids = try tensor("seqcls.input_ids")
    let mask = try tensor("seqcls.attention_mask")
    let out = try seq.forward(
      EncoderInputs(inputIds: ids, attentionMask: mask, labels: try tensor("seqcls.labels")))
    assertClose(out.logits!, try tensor("seqcls.logits"), 1e-4, "sequence logits")
    assertClose(out.loss!.reshape([1]), try tensor("seqcls.loss"), 1e-4, "sequence loss")
    XCTAssertEqual(
      try LlamaForSequenceClassification.lastNonPadIndices(ids, padTokenId: 0), [5, 7, 7])
    XCTAssertThrowsError(try LlamaForSequenceClassification.lastNonPadIndices(ids, padTokenId: nil))
    {
      XCTAssertTrue("\($0)".contains("without a padding token; set pad_token_id"), "\($0)")
    }

    c.numLabels = 5
    let tok = try LlamaForTokenClassification(c)
    try tok.model.loadStateDict(lm.model.stateDict())
    try tok.score.loadStateDict([
      "weight": try tensor("tokcls.score.weight"), "bias": try tensor("tokcls.score.bias"),
    ])
    tok.to(device: TestDevice.device)
    tok.eval()
    let row = ids.slice(dim: 0, end: 1)
    let rowMask = mask.slice(dim: 0, end: 1)
    let t = try tok.forward(
      EncoderInputs(inputIds: row, attentionMask: rowMask, labels: try tensor("tokcls.labels")))
    assertClose(t.logits!, try tensor("tokcls.logits"), 1e-4, "token logits")
    assertClose(t.loss!.reshape([1]), try tensor("tokcls.loss"), 1e-4, "token loss")
  }

  /// A causal-LM checkpoint loads into the classification heads (lm_head dropped, a fresh
  /// score) and the base model (prefix dropped), through the Auto classes.
  func testAutoClassesLoadEveryHeadFromACausalLMDirectory() throws {
    let dir = Self.fixtures + "/llama-tiny"
    let lm = try model("tiny")
    let seq = try XCTUnwrap(
      try AutoModelForSequenceClassification.from(directory: dir) as? LlamaForSequenceClassification
    )
    XCTAssertEqual(seq.score.weight.shape, [2, 8])
    assertClose(seq.model.embed_tokens.weight, lm.model.embed_tokens.weight, 0, "trunk weights")
    let tok = try XCTUnwrap(
      try AutoModelForTokenClassification.from(directory: dir) as? LlamaForTokenClassification)
    XCTAssertEqual(tok.score.bias?.shape, [2])
    let base = try XCTUnwrap(try AutoModel.from(directory: dir) as? LlamaModel)
    let ids = Tensor([Int64(1), 20, 30], shape: [1, 3])
    assertClose(noGrad { base(ids) }, noGrad { lm.model(ids) }, 0, "base model hidden states")
  }

  func testSaveAndReloadRoundTrips() throws {
    for name in ["tiny", "tied"] {
      let m = try model(name)
      let dir = NSTemporaryDirectory() + "loom-llama-\(UUID().uuidString)"
      defer { try? FileManager.default.removeItem(atPath: dir) }
      try m.savePretrained(to: dir)
      let again = try XCTUnwrap(try AutoModelForCausalLM.from(directory: dir) as? LlamaForCausalLM)
      XCTAssertEqual(again.config, m.config)
      let ids = Tensor([Int64(1), 2, 3], shape: [1, 3])
      assertClose(noGrad { again(ids) }, noGrad { m(ids) }, 0, "reloaded logits")
      let json = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
      XCTAssertTrue(json.contains("\"rope_parameters\""), json)
      XCTAssertTrue(json.contains("\"num_key_value_heads\" : \(m.config.keyValueHeads)"), json)
      let keys = try SafeTensorsFile(path: dir + "/model.safetensors").names
      XCTAssertEqual(keys.contains("lm_head.weight"), name == "tiny")
      XCTAssertTrue(keys.contains("model.layers.1.self_attn.q_proj.weight"))
    }
  }

  func decode(_ json: String) throws -> LlamaConfig {
    try ConfigFile.decode(LlamaConfig.self, from: Data(json.utf8), path: "bad/config.json")
  }

  func testConfigDefaultsLegacyRopeAndBadConfigErrors() throws {
    let c = try decode(
      #"{"hidden_size": 64, "num_attention_heads": 8, "rope_theta": 500000, "rope_scaling": null}"#)
    XCTAssertEqual(c.keyValueHeads, 8)
    XCTAssertEqual(c.headDimension, 8)
    XCTAssertEqual(c.ropeTheta, 500000)
    XCTAssertEqual(c.tieWordEmbeddings, false)
    XCTAssertEqual(c.eosTokenIds, [2])
    let cases: [(String, String)] = [
      (
        #"{"num_attention_heads": 32, "num_key_value_heads": 5}"#,
        "must be a multiple of num_key_value_heads (5)"
      ),
      (
        #"{"hidden_size": 100, "num_attention_heads": 32}"#,
        "hidden_size (100) is not a multiple of num_attention_heads (32)"
      ),
      (
        #"{"rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0}}"#,
        "rope_type 'yarn' is not supported"
      ),
      (
        #"{"rope_scaling": {"type": "linear", "factor": 2.0}}"#,
        "rope_type 'linear' is not supported"
      ),
      (
        #"{"vocab_size": 100, "eos_token_id": [2, 100]}"#,
        "eos_token_id 100 is outside the vocabulary"
      ),
      (#"{"num_hidden_layers": 0}"#, "num_hidden_layers must be positive"),
      (#"{"head_dim": 7}"#, "head_dim (7) must be even"),
    ]
    for (json, message) in cases {
      XCTAssertThrowsError(try decode(json), json) {
        XCTAssertTrue("\($0)".contains(message), "\($0)")
        XCTAssertTrue("\($0)".contains("bad/config.json"), "\($0)")
      }
    }
  }

  /// `loom generate` on a Llama directory (byte-fallback BPE tokenizer) prints the text
  /// transformers' text-generation pipeline gives.
  func testGenerateCommandPrintsTransformersText() throws {
    let g = Self.generation
    let dir = Self.fixtures + "/llama-tiny"
    let codec = try TextCodec.load(dir, modelVocabSize: 309)
    XCTAssertEqual(try codec.encodePrompt(g.cli_prompt), g.cli_prompt_ids)
    let r = try loom([
      "generate", "--model", dir, "--prompt", g.cli_prompt, "--max-new-tokens", "10",
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertEqual(r.out, g.cli_text + "\n")
  }
}
