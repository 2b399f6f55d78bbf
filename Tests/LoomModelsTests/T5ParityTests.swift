import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// T5 against Hugging Face transformers on tiny random checkpoints written by
/// scripts/fixtures/make_t5_fixtures.py: "relu" (tied lm_head, scaled decoder output,
/// 3 encoder and 2 decoder blocks, 3 heads × d_kv 4 over d_model 8) and "gated"
/// (gated-gelu, untied lm_head).
final class T5ParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let dirs = ["relu": fixtures + "/t5-tiny", "gated": fixtures + "/t5-tiny-gated"]
  static let expected = try! SafeTensorsFile(path: fixtures + "/t5-tiny-expected.safetensors")
  static let generation: [String: [[Int]]] = {
    let data = FileManager.default.contents(atPath: fixtures + "/t5-tiny-generate.json")!
    let json = try! JSONSerialization.jsonObject(with: data) as! [String: [Any]]
    // A single sequence is a flat list, several a list of lists.
    return json.mapValues { v in (v as? [[Int]]) ?? [v.map { $0 as! Int }] }
  }()

  func lm(_ kind: String) throws -> T5ForConditionalGeneration {
    try XCTUnwrap(try AutoModelForSeq2SeqLM.from(directory: Self.dirs[kind]!) as? T5ForConditionalGeneration)
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

  func forward(_ m: T5ForConditionalGeneration, _ kind: String) throws -> T5Output {
    try m.forward(
      inputIds: tensor("\(kind).input_ids"), attentionMask: tensor("\(kind).attention_mask"),
      labels: tensor("\(kind).labels"))
  }

  func testConfigsParseHFFields() throws {
    let relu = try lm("relu").config
    XCTAssertEqual([relu.numLayers, relu.decoderLayers, relu.numHeads, relu.dKv], [3, 2, 3, 4])
    XCTAssertEqual([relu.relativeAttentionNumBuckets, relu.relativeAttentionMaxDistance], [8, 12])
    XCTAssertFalse(relu.isGatedAct)
    XCTAssertEqual(relu.denseActFn, "relu")
    XCTAssertTrue(relu.scalesDecoderOutputs)
    let gated = try lm("gated")
    XCTAssertTrue(gated.config.isGatedAct)
    XCTAssertEqual(gated.config.denseActFn, "gelu_new")
    XCTAssertFalse(gated.config.tieWordEmbeddings)
    XCTAssertFalse(gated.config.scalesDecoderOutputs)
    XCTAssertNotNil(gated.lm_head)
    XCTAssertEqual(gated.config.eosTokenId, 1)
    var c = T5Config()
    c.feedForwardProj = "gated-silu"
    XCTAssertEqual([c.denseActFn, "\(c.isGatedAct)"], ["silu", "true"])
    XCTAssertEqual(c.decoderLayers, 6, "num_decoder_layers defaults to num_layers")
    XCTAssertEqual(c.decoderStartTokenId, 0)
    let list = try JSONDecoder().decode(T5Config.self, from: Data(#"{"eos_token_id": [1, 5]}"#.utf8))
    XCTAssertEqual(list.eosTokenId?.ids, [1, 5])
    XCTAssertEqual(GenerationConfig(defaultsOf: list).eosTokenIds, [1, 5])
  }

  /// HF's buckets for both directions, including the logarithmic ones and the clamp.
  func testRelativePositionBuckets() {
    // From torch: T5Attention._relative_position_bucket(torch.arange(-20, 21), True, 8, 12).
    let bi = (-20...20).map { T5Attention.bucket($0, bidirectional: true, numBuckets: 8, maxDistance: 12) }
    XCTAssertEqual(
      bi,
      [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 1, 0, 5, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7])
    let causal = (-20...0).map { T5Attention.bucket($0, bidirectional: false, numBuckets: 32, maxDistance: 128) }
    XCTAssertEqual(causal.reversed(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 16, 16, 17, 17])
    XCTAssertEqual(T5Attention.bucket(5, bidirectional: false, numBuckets: 32, maxDistance: 128), 0)
    XCTAssertEqual(T5Attention.bucket(500, bidirectional: true, numBuckets: 32, maxDistance: 128), 31)
  }

  func testHiddenStatesLogitsLossAndEveryGradientMatchTransformers() throws {
    for (kind, count) in [("relu", 55), ("gated", 52)] {
      let m = try lm(kind)
      m.train()
      let out = try forward(m, kind)
      assertClose(out.encoderLastHiddenState, try tensor("\(kind).encoder_hidden"), 1e-4, "\(kind) encoder")
      assertClose(out.lastHiddenState, try tensor("\(kind).decoder_hidden"), 1e-4, "\(kind) decoder")
      assertClose(out.logits!, try tensor("\(kind).logits"), 1e-4, "\(kind) logits")
      assertClose(out.loss!.reshape([1]), try tensor("\(kind).loss"), 1e-4, "\(kind) loss")
      out.loss!.backward()
      let params = m.namedParameters()
      XCTAssertEqual(params.count, count, "\(kind): one parameter per HF parameter (tied ones once)")
      XCTAssertEqual(
        params.count, Self.expected.names.filter { $0.hasPrefix("\(kind).grad.") }.count, kind)
      for (name, p) in params {
        guard let g = p.grad else {
          XCTFail("\(kind): no gradient for \(name)")
          continue
        }
        assertClose(g, try tensor("\(kind).grad.\(name)"), 1e-4, "\(kind) grad \(name)")
      }
    }
  }

  func testFiveAdamWStepsMatchTransformers() throws {
    for kind in ["relu", "gated"] {
      let m = try lm(kind)
      m.train()
      let opt = AdamW(decayGroups(m, lr: 1e-3, weightDecay: 0.1))
      var losses: [Double] = []
      for _ in 0..<5 {
        let loss = try forward(m, kind).loss!
        loss.backward()
        clipGradNorm(m.parameters(), maxNorm: 1)
        opt.step()
        opt.zeroGrad()
        losses.append(loss.item())
      }
      let expectedLosses = try tensor("\(kind).adamw.losses").toArray(Double.self)
      XCTAssertEqual(losses.count, 5)
      for (a, b) in zip(losses, expectedLosses) { XCTAssertEqual(a, b, accuracy: 1e-4, kind) }
      for (name, p) in m.namedParameters() {
        assertClose(p, try tensor("\(kind).adamw.\(name)"), 1e-4, "\(kind) \(name) after 5 steps")
      }
    }
  }

  /// labels only: decoder_input_ids are the labels shifted right after the start token (0),
  /// −100 replaced by pad (0).
  func testShiftRight() throws {
    let labels = Tensor([Int64(5), 6, -100, 7], shape: [1, 4])
    XCTAssertEqual(try T5Model.shiftRight(labels, try lm("relu").config).int64s, [0, 5, 6, 0])
  }

  /// Step-by-step decoding with the caches (the decoder's position bias at the absolute
  /// query position) gives the logits of one full forward, padded source included.
  func testCachedDecodingEqualsFullForward() throws {
    for kind in ["relu", "gated"] {
      let m = try lm(kind)
      m.eval()
      let src = Tensor([Int64(5), 17, 22, 8, 23, 9, 1, 0], shape: [1, 8])
      let mask = Tensor([Int64(1), 1, 1, 1, 1, 1, 1, 0], shape: [1, 8])
      let dec: [Int64] = [0, 26, 30, 11, 5, 7]
      let full = try noGrad {
        try m.forward(inputIds: src, attentionMask: mask, decoderInputIds: Tensor(dec, shape: [1, 6])).logits!
      }
      let state = noGrad { m.encode(ids: src, attentionMask: mask) }
      var steps = [noGrad { m.decode(ids: Tensor(Array(dec[0..<2]), shape: [1, 2]), state: state) }]
      for t in 2..<6 {
        steps.append(noGrad { m.decode(ids: Tensor([dec[t]], shape: [1, 1]), state: state) })
      }
      XCTAssertEqual(state.pastLength, 6)
      XCTAssertEqual(state.crossAttention[0].length, 8, "cross-attention K/V projected once")
      assertClose(Tensor.cat(steps, dim: 1), full, 1e-5, "\(kind) cached logits")
    }
  }

  // MARK: Generation

  func config(_ kind: String, _ body: (inout GenerationConfig) -> Void) throws -> GenerationConfig {
    var c = GenerationConfig(defaultsOf: try lm(kind).config)
    XCTAssertEqual(c.eosTokenIds, [1])
    XCTAssertEqual(c.padTokenId, 0)
    XCTAssertNil(c.forcedEosTokenId)
    body(&c)
    return c
  }

  func testGreedyAndBeamSearchMatchTransformers() throws {
    let g = Self.generation
    let source = g["source"]![0]
    for kind in ["relu", "gated"] {
      let m = try lm(kind)
      XCTAssertEqual(
        try Generation.generate(m, inputs: [source], config: try config(kind) { $0.maxNewTokens = 12 }),
        g["\(kind).greedy"]!, "\(kind) greedy")
      let beam = try Generation.generate(
        m, inputs: [source],
        config: try config(kind) {
          $0.maxNewTokens = 10
          $0.numBeams = 3
          $0.lengthPenalty = 1.3
          $0.noRepeatNgramSize = 2
          $0.earlyStopping = .enabled
          $0.numReturnSequences = 2
        })
      XCTAssertEqual(beam, g["\(kind).beam"]!, "\(kind) beam")
    }
    let sources = zip(g["batched_sources"]!, g["batched_mask"]!).map { s, mask in
      zip(s, mask).filter { $0.1 == 1 }.map(\.0)
    }
    let batched = try Generation.generate(
      try lm("relu"), inputs: sources,
      config: try config("relu") {
        $0.maxNewTokens = 8
        $0.numBeams = 3
        $0.lengthPenalty = 0.8
        $0.noRepeatNgramSize = 2
      })
    XCTAssertEqual(batched, g["relu.batched_beam"]!)
  }

  // MARK: Save and load

  func testSaveWritesHFNamesAndRoundTrips() throws {
    for kind in ["relu", "gated"] {
      let m = try lm(kind)
      let dir = NSTemporaryDirectory() + "t5-save-\(UUID().uuidString)"
      defer { try? FileManager.default.removeItem(atPath: dir) }
      try m.savePretrained(to: dir)
      let ours = Set(try SafeTensorsFile(path: dir + "/model.safetensors").names)
      let theirs = Set(try SafeTensorsFile(path: Self.dirs[kind]! + "/model.safetensors").names)
      XCTAssertEqual(ours, theirs, "\(kind): the tensor names of the HF checkpoint")
      XCTAssertEqual(ours.contains("lm_head.weight"), kind == "gated")
      let config = try ConfigFile.object(at: dir + "/config.json")
      XCTAssertEqual(config["model_type"] as? String, "t5")
      XCTAssertEqual(config["architectures"] as? [String], ["T5ForConditionalGeneration"])
      XCTAssertEqual(config["is_gated_act"] as? Bool, kind == "gated")
      XCTAssertEqual(config["dense_act_fn"] as? String, kind == "gated" ? "gelu_new" : "relu")
      XCTAssertEqual(config["eos_token_id"] as? Int, 1)
      XCTAssertEqual(config["scale_decoder_outputs"] as? Bool, kind == "relu")
      XCTAssertEqual(config["tie_word_embeddings"] as? Bool, kind == "relu")
      let back = try XCTUnwrap(try AutoModelForSeq2SeqLM.from(directory: dir) as? T5ForConditionalGeneration)
      let src = try tensor("\(kind).input_ids")
      let dec = try T5Model.shiftRight(try tensor("\(kind).labels"), m.config)
      let a = try noGrad { try m.forward(inputIds: src, decoderInputIds: dec).logits! }
      let b = try noGrad { try back.forward(inputIds: src, decoderInputIds: dec).logits! }
      assertClose(a, b, 0, "\(kind) reloaded logits")
      // The base model and the encoder alone load the LM checkpoint.
      let base = try XCTUnwrap(try AutoModel.from(directory: dir) as? T5Model)
      let h = try noGrad { try base.forward(inputIds: src, decoderInputIds: dec) }
      assertClose(h.encoderLastHiddenState, try noGrad { try m.encode(src) }, 0, "\(kind) base encoder")
      let enc = try T5EncoderModel.fromPretrained(dir)
      assertClose(try noGrad { try enc.forward(inputIds: src) }, h.encoderLastHiddenState, 0, "encoder model")
    }
  }

  /// Older files hold the tied copies and the decoder's unused cross-attention bias: ignored.
  func testTiedCopiesAndIgnoredKeysLoad() throws {
    let dir = try copyFixture { w, _ in
      let shared = w["shared.weight"]!
      for k in ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"] { w[k] = shared }
      w["decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"] = Tensor.zeros([8, 3])
    }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let m = try XCTUnwrap(try AutoModelForSeq2SeqLM.from(directory: dir) as? T5ForConditionalGeneration)
    let src = try tensor("relu.input_ids")
    let a = try noGrad {
      try m.forward(inputIds: src, attentionMask: tensor("relu.attention_mask"), labels: tensor("relu.labels")).logits!
    }
    assertClose(a, try tensor("relu.logits"), 1e-4, "logits with tied copies in the file")
  }

  // MARK: Bad input

  func copyFixture(
    _ kind: String = "relu", editing edit: (inout [String: Tensor], inout [String: Any]) -> Void
  ) throws -> String {
    let dir = NSTemporaryDirectory() + "t5-bad-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var weights = try SafeTensorsFile(path: Self.dirs[kind]! + "/model.safetensors").tensors()
    var config = try ConfigFile.object(at: Self.dirs[kind]! + "/config.json")
    edit(&weights, &config)
    try SafeTensors.save(weights, metadata: ["format": "pt"], to: dir + "/model.safetensors")
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
    return dir
  }

  func assertLoadFails(_ dir: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
    defer { try? FileManager.default.removeItem(atPath: dir) }
    XCTAssertThrowsError(try AutoModelForSeq2SeqLM.from(directory: dir), file: file, line: line) { error in
      for m in mentions {
        XCTAssertTrue("\(error)".contains(m), "\(error) should mention \(m)", file: file, line: line)
      }
    }
  }

  func testBadConfigsAndWeightsAreClearErrors() throws {
    // num_heads × d_kv must match the q/k/v/o weights.
    assertLoadFails(
      try copyFixture { _, c in c["num_heads"] = 2 },
      mentions: ["size mismatches", "decoder.block.0.layer.0.SelfAttention.q.weight", "[12, 8]", "[8, 8]"])
    assertLoadFails(
      try copyFixture { _, c in c["feed_forward_proj"] = "swiglu-gated" },
      mentions: ["feed_forward_proj 'swiglu-gated' is not a valid activation", "'gated-{ACT_FN}'"])
    assertLoadFails(
      try copyFixture { _, c in c["feed_forward_proj"] = "gated-wiggle" },
      mentions: ["feed_forward_proj 'gated-wiggle'", "unknown activation 'wiggle'"])
    assertLoadFails(
      try copyFixture { _, c in c["feed_forward_proj"] = "gated-gelu" },
      mentions: ["missing keys", "wi_0.weight"])
    assertLoadFails(
      try copyFixture { w, _ in w["decoder.block.1.layer.2.DenseReluDense.wo.weight"] = nil },
      mentions: ["missing keys", "decoder.block.1.layer.2.DenseReluDense.wo.weight"])
    assertLoadFails(
      try copyFixture("gated") { w, _ in w["lm_head.weight"] = nil },
      mentions: ["missing keys", "lm_head.weight"])
    assertLoadFails(
      try copyFixture { _, c in c["decoder_start_token_id"] = NSNull() },
      mentions: ["decoder_start_token_id is null"])
    assertLoadFails(
      try copyFixture { _, c in c["eos_token_id"] = [1, 40] }, mentions: ["eos_token_id 40", "vocab_size 32"])
    assertLoadFails(
      try copyFixture { _, c in c["d_kv"] = 0 }, mentions: ["d_kv must be positive"])
    assertLoadFails(
      try copyFixture { _, c in c["relative_attention_num_buckets"] = 2 },
      mentions: ["relative_attention_num_buckets must be at least 4"])
    assertLoadFails(
      try copyFixture { _, c in c["dropout_rate"] = 1.0 }, mentions: ["dropout_rate must be in [0, 1)"])
  }

  func testBadInputsAreClearErrors() throws {
    let m = try lm("relu")
    let ids = Tensor([Int64(5), 6, 1], shape: [1, 3])
    XCTAssertThrowsError(try m.forward(inputIds: ids)) {
      XCTAssertTrue("\($0)".contains("pass labels or decoder_input_ids"), "\($0)")
    }
    XCTAssertThrowsError(try m.forward(inputIds: Tensor([Int64(5), 32], shape: [1, 2]), labels: ids)) {
      XCTAssertTrue("\($0)".contains("input_ids holds token 32, outside the vocabulary"), "\($0)")
    }
    XCTAssertThrowsError(try m.forward(inputIds: ids, labels: Tensor([Int64(5), 99], shape: [1, 2]))) {
      XCTAssertTrue("\($0)".contains("label 99"), "\($0)")
    }
    XCTAssertThrowsError(
      try m.forward(inputIds: ids, attentionMask: Tensor([Int64(1), 1], shape: [1, 2]), labels: ids)
    ) {
      XCTAssertTrue("\($0)".contains("attention_mask has shape [1, 2]"), "\($0)")
    }
  }
}
