import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// BART against Hugging Face transformers on tiny random checkpoints written by
/// scripts/fixtures/make_bart_fixtures.py.
final class BartParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let lmDir = fixtures + "/bart-tiny"
  static let clsDir = fixtures + "/bart-tiny-cls"
  static let expected = try! SafeTensorsFile(path: fixtures + "/bart-tiny-expected.safetensors")

  struct GenerateFixture: Decodable {
    let source: [Int]
    let greedy: [Int]
    let beam: [[Int]]
    let forced_bos_greedy: [Int]
    let max_length_greedy: [Int]
    let batched_sources: [[Int]]
    let batched_mask: [[Int]]
    let batched_greedy: [[Int]]
    let batched_beam: [[Int]]
  }

  static let generation: GenerateFixture = {
    let data = FileManager.default.contents(atPath: fixtures + "/bart-tiny-generate.json")!
    return try! JSONDecoder().decode(GenerateFixture.self, from: data)
  }()

  /// Loaded through the Auto class, as `AutoModelForSeq2SeqLM.from_pretrained` would.
  func lm() throws -> BartForConditionalGeneration {
    let m = try AutoModelForSeq2SeqLM.from(directory: Self.lmDir)
    return try XCTUnwrap(m as? BartForConditionalGeneration)
  }

  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst =
      zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func lmForward(_ m: BartForConditionalGeneration) throws -> BartOutput {
    try m.forward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      labels: tensor("labels"))
  }

  func testHiddenStatesLogitsLossAndEveryGradientMatchTransformers() throws {
    let m = try lm()
    m.train()
    let out = try lmForward(m)
    assertClose(
      out.encoderLastHiddenState, try tensor("encoder_hidden"), 1e-4, "encoder hidden states")
    assertClose(out.lastHiddenState, try tensor("decoder_hidden"), 1e-4, "decoder hidden states")
    assertClose(out.logits!, try tensor("logits"), 1e-4, "logits")
    assertClose(out.loss!.reshape([1]), try tensor("loss"), 1e-4, "loss")
    out.loss!.backward()
    let gradNames = Self.expected.names.filter { $0.hasPrefix("grad.") }
    let params = m.namedParameters()
    XCTAssertEqual(params.count, gradNames.count, "one parameter per HF parameter (tied ones once)")
    XCTAssertEqual(params.count, 91)
    for (name, p) in params {
      assertClose(p.grad!, try tensor("grad.\(name)"), 1e-4, "grad \(name)")
    }
  }

  /// encoder_/decoder_layerdrop skip layers in training only: with 0.99 most training forwards
  /// differ from evaluation, while evaluation is unchanged.
  func testLayerDropSkipsLayersOnlyInTraining() throws {
    var config = try lm().config
    config.encoderLayerdrop = 0.99
    config.decoderLayerdrop = 0.99
    let m = try BartForConditionalGeneration(config)
    let src = try tensor("input_ids")
    m.eval()
    let a = try noGrad { try m.forward(inputIds: src).logits! }
    let b = try noGrad { try m.forward(inputIds: src).logits! }
    assertClose(a, b, 0, "evaluation runs every layer")
    m.train()
    let t = try noGrad { try m.forward(inputIds: src).logits! }
    let diff = zip(t.toArray(Double.self), a.toArray(Double.self)).map { abs($0 - $1) }.max()!
    XCTAssertGreaterThan(diff, 1e-3, "training skipped layers")
  }

  /// labels only: decoder_input_ids are the labels shifted right after decoder_start_token_id,
  /// −100 replaced by pad.
  func testShiftTokensRight() throws {
    let labels = Tensor([Int64(5), 6, -100, 7], shape: [1, 4])
    let shifted = try BartModel.shiftTokensRight(labels, try lm().config)
    XCTAssertEqual(shifted.int64s, [2, 5, 6, 1])
  }

  func testFiveAdamWStepsMatchTransformers() throws {
    let m = try lm()
    m.train()
    let opt = AdamW(decayGroups(m, lr: 1e-3, weightDecay: 0.1))
    var losses: [Double] = []
    for _ in 0..<5 {
      let loss = try lmForward(m).loss!
      loss.backward()
      clipGradNorm(m.parameters(), maxNorm: 1)
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    let expectedLosses = try tensor("adamw.losses").toArray(Double.self)
    XCTAssertEqual(losses.count, expectedLosses.count)
    for (a, b) in zip(losses, expectedLosses) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    for (name, p) in m.namedParameters() where !name.hasSuffix("k_proj.bias") {
      // (The key bias shifts every score of a row equally: its gradient is rounding noise that
      // Adam normalises to ±lr steps, so it is left out, as for GPT-2's c_attn key bias.)
      assertClose(p, try tensor("adamw.\(name)"), 1e-4, "parameter \(name) after 5 steps")
    }
  }

  func testSequenceClassificationLogitsLossAndGradientsMatchTransformers() throws {
    let loaded = try AutoModelForSequenceClassification.from(directory: Self.clsDir)
    let m = try XCTUnwrap(loaded as? BartForSequenceClassification)
    XCTAssertEqual(m.config.numLabels, 4)
    XCTAssertNotNil(m.model.encoder.embed_tokens, "untied: the encoder has its own embed_tokens")
    m.train()
    let out = try m.forward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      labels: tensor("cls.labels"))
    assertClose(out.logits!, try tensor("cls.logits"), 1e-4, "classification logits")
    assertClose(out.loss!.reshape([1]), try tensor("cls.loss"), 1e-4, "classification loss")
    out.loss!.backward()
    let params = Dictionary(uniqueKeysWithValues: m.namedParameters())
    for name in [
      "classification_head.dense.weight", "model.encoder.embed_tokens.weight",
      "model.decoder.embed_tokens.weight",
    ] {
      assertClose(params[name]!.grad!, try tensor("cls.grad.\(name)"), 1e-4, "grad \(name)")
    }
  }

  /// The encoders' entry point (what the Trainer and pipelines call) gives the same loss.
  func testSequenceClassificationAsEncoderModel() throws {
    let loaded = try AutoModelForSequenceClassification.from(directory: Self.clsDir)
    let m = try XCTUnwrap(loaded as? any EncoderModel)
    let (loss, logits) = m.lossAndLogits([
      "input_ids": try tensor("input_ids"), "attention_mask": try tensor("attention_mask"),
      "labels": try tensor("cls.labels"),
    ])
    assertClose(logits, try tensor("cls.logits"), 1e-4, "logits")
    assertClose(loss.reshape([1]), try tensor("cls.loss"), 1e-4, "loss")
    XCTAssertEqual(m.maxSequenceLength, 32)
  }

  func testUnequalEosCountsAreAClearError() throws {
    let m = try XCTUnwrap(
      try AutoModelForSequenceClassification.from(directory: Self.clsDir)
        as? BartForSequenceClassification)
    let ids = Tensor([Int64(5), 2, 6, 2, 5, 6, 7, 2], shape: [2, 4])
    XCTAssertThrowsError(try m.forward(inputIds: ids)) {
      XCTAssertTrue("\($0)".contains("same number of <eos> tokens"), "\($0)")
    }
    XCTAssertThrowsError(try m.forward(inputIds: Tensor([Int64(5), 6], shape: [1, 2]))) {
      XCTAssertTrue("\($0)".contains("at least one <eos>"), "\($0)")
    }
  }

  // MARK: Generation

  /// HF's defaults from the fixture's config (eos 2, pad 1, forced_eos 2), then `body`.
  func config(_ body: (inout GenerationConfig) -> Void) throws -> GenerationConfig {
    var c = GenerationConfig(defaultsOf: try lm().config)
    XCTAssertEqual([c.eosTokenIds, [c.padTokenId!], [c.forcedEosTokenId!]], [[2], [1], [2]])
    XCTAssertNil(c.forcedBosTokenId)
    body(&c)
    return c
  }

  func testGreedyForcedBosAndMaxLengthMatchTransformers() throws {
    let m = try lm()
    let g = Self.generation
    XCTAssertEqual(
      try Generation.generate(m, inputs: [g.source], config: try config { $0.maxNewTokens = 12 })[
        0],
      g.greedy)
    XCTAssertEqual(
      try Generation.generate(
        m, inputs: [g.source],
        config: try config {
          $0.maxNewTokens = 8
          $0.forcedBosTokenId = 0
        })[0],
      g.forced_bos_greedy)
    // max_length counts decoder tokens; the last one is forced to eos.
    XCTAssertEqual(
      try Generation.generate(m, inputs: [g.source], config: try config { $0.maxLength = 6 })[0],
      g.max_length_greedy)
    XCTAssertEqual(g.max_length_greedy.last, 2)
  }

  func testBeamSearchMatchesTransformers() throws {
    let m = try lm()
    let g = Self.generation
    let out = try Generation.generate(
      m, inputs: [g.source],
      config: try config {
        $0.maxNewTokens = 10
        $0.numBeams = 3
        $0.lengthPenalty = 1.3
        $0.noRepeatNgramSize = 2
        $0.earlyStopping = .enabled
        $0.numReturnSequences = 2
      })
    XCTAssertEqual(out, g.beam)
  }

  func testBatchedPaddedGreedyAndBeamMatchTransformers() throws {
    let m = try lm()
    let g = Self.generation
    let sources = zip(g.batched_sources, g.batched_mask).map { s, mask in
      zip(s, mask).filter { $0.1 == 1 }.map(\.0)
    }
    XCTAssertEqual(
      try Generation.generate(m, inputs: sources, config: try config { $0.maxNewTokens = 8 }),
      g.batched_greedy)
    let beam = try Generation.generate(
      m, inputs: sources,
      config: try config {
        $0.maxNewTokens = 8
        $0.numBeams = 3
        $0.lengthPenalty = 0.8
        $0.noRepeatNgramSize = 2
      })
    XCTAssertEqual(beam, g.batched_beam)
  }

  /// Decoding step by step with the caches gives the logits of one full forward.
  func testCachedDecodingEqualsFullForward() throws {
    let m = try lm()
    let src = Tensor([Int64(0), 17, 42, 8, 23, 5, 2], shape: [1, 7])
    let dec: [Int64] = [2, 26, 40, 11, 5]
    let full = try noGrad {
      try m.forward(inputIds: src, decoderInputIds: Tensor(dec, shape: [1, 5])).logits!
    }
    let state = noGrad { m.encode(ids: src, attentionMask: nil) }
    var steps = [noGrad { m.decode(ids: Tensor(Array(dec[0..<2]), shape: [1, 2]), state: state) }]
    for t in 2..<5 {
      steps.append(noGrad { m.decode(ids: Tensor([dec[t]], shape: [1, 1]), state: state) })
    }
    XCTAssertEqual(state.pastLength, 5)
    XCTAssertEqual(state.crossAttention[0].length, 7, "cross-attention K/V projected once")
    assertClose(Tensor.cat(steps, dim: 1), full, 1e-5, "cached logits")
  }

  // MARK: Save and load

  func testSaveWritesHFNamesAndRoundTrips() throws {
    let m = try lm()
    let dir = NSTemporaryDirectory() + "bart-save-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try m.savePretrained(to: dir)
    let ours = Set(try SafeTensorsFile(path: dir + "/model.safetensors").names)
    let hf = Set(try SafeTensorsFile(path: Self.lmDir + "/model.safetensors").names)
    XCTAssertEqual(ours, hf, "the same tensor names as transformers' save_pretrained")
    let config = try ConfigFile.object(at: dir + "/config.json")
    XCTAssertEqual(config["model_type"] as? String, "bart")
    XCTAssertEqual(config["architectures"] as? [String], ["BartForConditionalGeneration"])
    XCTAssertEqual(config["d_model"] as? Int, 16)
    // transformers' strict config rejects 0 where it types a float.
    let raw = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
    for key in ["encoder_layerdrop", "decoder_layerdrop"] {
      XCTAssertNotNil(raw.range(of: "\"\(key)\" ?: ?0\\.0[,\n]", options: .regularExpression), raw)
    }
    let back = try XCTUnwrap(
      try AutoModelForSeq2SeqLM.from(directory: dir) as? BartForConditionalGeneration)
    let src = try tensor("input_ids")
    let a = try noGrad { try m.forward(inputIds: src).logits! }
    let b = try noGrad { try back.forward(inputIds: src).logits! }
    assertClose(a, b, 0, "reloaded logits")
    // The base model loads the LM checkpoint (prefix dropped) and the LM a base checkpoint.
    let base = try XCTUnwrap(try AutoModel.from(directory: dir) as? BartModel)
    let baseDir = dir + "-base"
    defer { try? FileManager.default.removeItem(atPath: baseDir) }
    try base.savePretrained(to: baseDir)
    XCTAssertFalse(
      try SafeTensorsFile(path: baseDir + "/model.safetensors").names.contains("final_logits_bias"))
    XCTAssertNoThrow(try BartForConditionalGeneration.fromPretrained(baseDir))
  }

  /// Older HF files also hold the tied copies (`embed_tokens`, `lm_head`): they are ignored.
  /// A classifier loads the LM checkpoint with a freshly initialised head, as HF does.
  func testTiedCopiesAreIgnoredAndOtherHeadsLoad() throws {
    let dir = try copyFixture { w, _ in
      let shared = w["model.shared.weight"]!
      for k in [
        "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight",
      ] {
        w[k] = shared
      }
    }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let m = try XCTUnwrap(
      try AutoModelForSeq2SeqLM.from(directory: dir) as? BartForConditionalGeneration)
    let src = try tensor("input_ids")
    let a = try noGrad { try m.forward(inputIds: src).logits! }
    let b = try noGrad { try lm().forward(inputIds: src).logits! }
    assertClose(a, b, 0, "logits with tied copies in the file")
    let cls = try BartForSequenceClassification.fromPretrained(Self.lmDir)
    XCTAssertEqual(cls.config.numLabels, 3)
    let out = try cls.forward(inputIds: src)
    XCTAssertEqual(out.logits!.shape, [2, 3])
    let enc = try noGrad { try m.model.encode(src) }
    assertClose(out.encoderLastHiddenState, enc, 0, "the classifier's trunk is the checkpoint's")
  }

  // MARK: Bad input

  func copyFixture(editing edit: (inout [String: Tensor], inout [String: Any]) -> Void) throws
    -> String
  {
    let dir = NSTemporaryDirectory() + "bart-bad-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var weights = try SafeTensorsFile(path: Self.lmDir + "/model.safetensors").tensors()
    var config = try ConfigFile.object(at: Self.lmDir + "/config.json")
    edit(&weights, &config)
    try SafeTensors.save(weights, metadata: ["format": "pt"], to: dir + "/model.safetensors")
    try JSONSerialization.data(withJSONObject: config).write(
      to: URL(fileURLWithPath: dir + "/config.json"))
    return dir
  }

  func assertLoadFails(
    _ dir: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line
  ) {
    defer { try? FileManager.default.removeItem(atPath: dir) }
    XCTAssertThrowsError(try AutoModelForSeq2SeqLM.from(directory: dir), file: file, line: line) {
      error in
      for m in mentions {
        XCTAssertTrue(
          "\(error)".contains(m), "\(error) should mention \(m)", file: file, line: line)
      }
    }
  }

  func testMissingWeightsWrongShapesAndBadConfigsAreClearErrors() throws {
    assertLoadFails(
      try copyFixture { w, _ in w["model.decoder.layers.1.fc2.weight"] = nil },
      mentions: ["missing keys", "model.decoder.layers.1.fc2.weight"])
    assertLoadFails(
      try copyFixture { w, _ in w["model.encoder.layers.0.fc1.weight"] = Tensor.zeros([20, 16]) },
      mentions: ["size mismatches", "model.encoder.layers.0.fc1.weight", "[20, 16]", "[24, 16]"])
    assertLoadFails(
      try copyFixture { _, c in c["encoder_attention_heads"] = 5 },
      mentions: ["d_model (16)", "encoder_attention_heads (5)"])
    assertLoadFails(
      try copyFixture { _, c in c["decoder_start_token_id"] = NSNull() },
      mentions: ["decoder_start_token_id is null"])
    // A family without a seq2seq head.
    XCTAssertThrowsError(try AutoModelForSeq2SeqLM.from(directory: Self.fixtures + "/gpt2-tiny")) {
      XCTAssertTrue("\($0)".contains("model_type 'gpt2' has no AutoModelForSeq2SeqLM"), "\($0)")
    }
    assertLoadFails(
      try copyFixture { _, c in c["decoder_layers"] = 0 },
      mentions: ["decoder_layers must be positive"])
    assertLoadFails(
      try copyFixture { _, c in c["dropout"] = 1.5 }, mentions: ["dropout must be in [0, 1)"])
    assertLoadFails(
      try copyFixture { _, c in c["forced_eos_token_id"] = 64 },
      mentions: ["forced_eos_token_id 64", "vocab_size 64"])
    assertLoadFails(try copyFixture { _, c in c["d_model"] = 1 << 20 }, mentions: ["d_model"])
  }

  func testBadInputsAreClearErrors() throws {
    let m = try lm()
    let long = [Int](repeating: 5, count: 33)
    XCTAssertThrowsError(try Generation.generate(m, inputs: [long], config: try config { _ in })) {
      XCTAssertTrue(
        "\($0)".contains("33 tokens is longer than the model's max_position_embeddings (32)"),
        "\($0)")
    }
    XCTAssertThrowsError(
      try Generation.generate(m, inputs: [[5, 64]], config: try config { _ in })
    ) {
      XCTAssertTrue("\($0)".contains("input token 64 is outside the vocabulary"), "\($0)")
    }
    XCTAssertThrowsError(try m.forward(inputIds: Tensor([Int64(5), 64], shape: [1, 2]))) {
      XCTAssertTrue("\($0)".contains("token 64, outside the vocabulary"), "\($0)")
    }
    XCTAssertThrowsError(
      try m.forward(inputIds: Tensor([Int64](repeating: 5, count: 33), shape: [1, 33]))
    ) {
      XCTAssertTrue("\($0)".contains("max_position_embeddings (32)"), "\($0)")
    }
    let ids = Tensor([Int64(5), 6, 2], shape: [1, 3])
    XCTAssertThrowsError(
      try m.forward(inputIds: ids, labels: Tensor([Int64(5), 99], shape: [1, 2]))
    ) {
      XCTAssertTrue("\($0)".contains("label 99"), "\($0)")
    }
    XCTAssertThrowsError(
      try m.forward(inputIds: ids, attentionMask: Tensor([Int64(1), 1], shape: [1, 2]))
    ) {
      XCTAssertTrue("\($0)".contains("attention_mask has shape [1, 2]"), "\($0)")
    }
  }
}
