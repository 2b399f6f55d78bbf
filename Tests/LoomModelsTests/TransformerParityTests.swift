import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// The original Transformer against torch.nn.Transformer (plus embeddings, sinusoidal
/// positions and a linear head) on tiny random checkpoints written by
/// scripts/fixtures/make_transformer_fixtures.py.
final class TransformerParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let lmDir = fixtures + "/transformer-tiny"
  static let preDir = fixtures + "/transformer-tiny-prenorm"
  static let expected = try! SafeTensorsFile(
    path: fixtures + "/transformer-tiny-expected.safetensors")

  func lm(_ dir: String = lmDir) throws -> TransformerSeq2SeqLM {
    try XCTUnwrap(try AutoModelForSeq2SeqLM.from(directory: dir) as? TransformerSeq2SeqLM)
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

  func forward(_ m: TransformerSeq2SeqLM) throws -> TransformerOutput {
    try m.forward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      labels: tensor("labels"))
  }

  func testMemoryHiddenStatesLogitsLossAndEveryGradientMatchTorch() throws {
    let m = try lm()
    XCTAssertNotNil(m.shared)
    XCTAssertNil(m.lm_head, "tied: the output projection is the shared embedding")
    m.train()
    let out = try forward(m)
    assertClose(out.encoderLastHiddenState, try tensor("encoder_hidden"), 1e-4, "encoder memory")
    assertClose(out.lastHiddenState, try tensor("decoder_hidden"), 1e-4, "decoder output")
    assertClose(out.logits, try tensor("logits"), 1e-4, "logits")
    assertClose(out.loss!.reshape([1]), try tensor("loss"), 1e-4, "loss")
    out.loss!.backward()
    let params = m.namedParameters()
    XCTAssertEqual(params.count, Self.expected.names.filter { $0.hasPrefix("grad.") }.count)
    XCTAssertEqual(params.count, 65)
    for (name, p) in params {
      assertClose(p.grad!, try tensor("grad.\(name)"), 1e-4, "grad \(name)")
    }
  }

  func testPreNormSeparateEmbeddingsUntiedGeluMatchTorch() throws {
    let m = try lm(Self.preDir)
    XCTAssertTrue(m.config.normFirst)
    XCTAssertEqual(m.config.activation, .gelu)
    XCTAssertEqual(m.src_embed?.weight.shape, [30, 16])
    XCTAssertEqual(m.lm_head?.weight.shape, [40, 16])
    m.train()
    let out = try forward(m)
    assertClose(out.encoderLastHiddenState, try tensor("pre.encoder_hidden"), 1e-4, "memory")
    assertClose(out.logits, try tensor("pre.logits"), 1e-4, "logits")
    assertClose(out.loss!.reshape([1]), try tensor("pre.loss"), 1e-4, "loss")
    out.loss!.backward()
    let params = m.namedParameters()
    XCTAssertEqual(params.count, Self.expected.names.filter { $0.hasPrefix("pre.grad.") }.count)
    for (name, p) in params {
      assertClose(p.grad!, try tensor("pre.grad.\(name)"), 1e-4, "grad \(name)")
    }
  }

  func testFiveAdamWStepsMatchTorch() throws {
    let m = try lm()
    m.train()
    let opt = AdamW(decayGroups(m, lr: 1e-3, weightDecay: 0.1))
    var losses: [Double] = []
    for _ in 0..<5 {
      let loss = try forward(m).loss!
      loss.backward()
      clipGradNorm(m.parameters(), maxNorm: 1)
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    let want = try tensor("adamw.losses").toArray(Double.self)
    XCTAssertEqual(losses.count, 5)
    for (a, b) in zip(losses, want) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    let e = m.config.dModel
    for (name, p) in m.namedParameters() {
      let ref = try tensor("adamw.\(name)")
      if name.hasSuffix("in_proj_bias") {
        // The key bias shifts a row's scores equally: its gradient is rounding noise that Adam
        // scales to ±lr steps, so only the query and value thirds are compared.
        for part in [0, 2] {
          assertClose(
            p.slice(dim: 0, start: part * e, end: (part + 1) * e),
            ref.slice(dim: 0, start: part * e, end: (part + 1) * e), 1e-4, "\(name)[\(part)]")
        }
      } else {
        assertClose(p, ref, 1e-4, "parameter \(name) after 5 steps")
      }
    }
  }

  /// A bare torch.nn.Transformer state_dict loads by its own names, and the forward with
  /// key-padding masks on source, target and memory and a causal target matches.
  func testBareNNTransformerForwardMatchesTorchByItsNames() throws {
    let t = try Transformer(
      dModel: 12, nhead: 3, numEncoderLayers: 1, numDecoderLayers: 2, dimFeedforward: 20,
      dropout: 0)
    var sd: [String: Tensor] = [:]
    for name in Self.expected.names where name.hasPrefix("bare.sd.") {
      sd[String(name.dropFirst("bare.sd.".count))] = try tensor(name)
    }
    XCTAssertEqual(Set(t.stateDict().keys), Set(sd.keys), "torch's parameter names")
    XCTAssertTrue(sd.keys.contains("decoder.layers.1.multihead_attn.in_proj_weight"))
    XCTAssertTrue(sd.keys.contains("decoder.layers.0.norm3.bias"))
    try t.loadStateDict(sd)
    t.train()
    let srcPad = try tensor("bare.src_pad").to(.bool)
    let out = try t(
      try tensor("bare.src"), try tensor("bare.tgt"), srcKeyPaddingMask: srcPad,
      tgtKeyPaddingMask: try tensor("bare.tgt_pad").to(.bool), memoryKeyPaddingMask: srcPad,
      tgtIsCausal: true)
    assertClose(out, try tensor("bare.out"), 1e-4, "nn.Transformer output")
    // Module's one-argument call runs the stack without masks.
    let src = try tensor("bare.src")
    assertClose(t.encoder.layers[0].forward(src), t.encoder.layers[0](src, srcMask: nil), 0, "layer")
    assertClose(t.encoder.forward(src), t.encoder(src, mask: nil), 0, "encoder")
    XCTAssertThrowsError(try t(try tensor("bare.src"), Tensor.zeros([2, 4, 8]))) {
      XCTAssertTrue("\($0)".contains("must be equal to d_model (12)"), "\($0)")
    }
  }

  /// Decoding step by step with the caches gives the logits of one full forward.
  func testCachedDecodingEqualsFullRecompute() throws {
    for dir in [Self.lmDir, Self.preDir] {
      let m = try lm(dir)
      let src = try tensor("input_ids")
      let mask = try tensor("attention_mask")
      let dec: [Int64] = [1, 26, 30, 11, 5, 7, 2, 2, 9, 14]
      let full = try noGrad {
        try m.forward(inputIds: src, attentionMask: mask, decoderInputIds: Tensor(dec, shape: [2, 5]))
          .logits
      }
      let state = noGrad { m.encode(ids: src, attentionMask: mask) }
      let cols = (0..<5).map { c in [dec[c], dec[5 + c]] }
      var steps = [noGrad { m.decode(ids: Tensor(cols[0], shape: [2, 1]), state: state) }]
      steps.append(
        noGrad {
          m.decode(ids: Tensor([cols[1][0], cols[2][0], cols[1][1], cols[2][1]], shape: [2, 2]), state: state)
        })
      for c in 3..<5 { steps.append(noGrad { m.decode(ids: Tensor(cols[c], shape: [2, 1]), state: state) }) }
      XCTAssertEqual(state.pastLength, 5)
      XCTAssertEqual(state.crossAttention[0].length, 9, "memory K/V projected once")
      assertClose(Tensor.cat(steps, dim: 1), full, 1e-5, "\(dir): cached logits")
    }
  }

  /// Greedy `generate` (cached, batched, left-padded sources) equals an argmax loop that
  /// recomputes the whole decoder each step; beam search runs with the same caches.
  func testGreedyGenerateEqualsFullRecomputeAndBeamSearchRuns() throws {
    let m = try lm()
    let sources = [[5, 9, 13, 2], [7, 3, 2]]
    var config = GenerationConfig(defaultsOf: m.config)
    config.maxNewTokens = 6
    let out = try Generation.generate(m, inputs: sources, config: config)
    for (i, s) in sources.enumerated() {
      var dec = [Int64(m.decoderStartTokenId)]
      for _ in 0..<6 {
        let logits = try noGrad {
          try m.forward(
            inputIds: Tensor(s.map(Int64.init), shape: [1, s.count]),
            decoderInputIds: Tensor(dec, shape: [1, dec.count])
          ).logits
        }
        let last = logits[0, dec.count - 1].toArray(Double.self)
        dec.append(Int64(last.indices.max { last[$0] < last[$1] }!))
        if dec.last == 2 { break }
      }
      XCTAssertEqual(Array(out[i].prefix(dec.count)), dec.map(Int.init), "row \(i)")
    }
    config.numBeams = 3
    config.numReturnSequences = 2
    config.lengthPenalty = 1.2
    let beams = try Generation.generate(m, inputs: [sources[0]], config: config)
    XCTAssertEqual(beams.count, 2)
    XCTAssertTrue(beams.allSatisfy { $0.first == 1 && $0.count <= 7 }, "\(beams)")
  }

  /// Generation left-pads a batch of sources: positions count from each row's first token,
  /// so the real tokens' memory is that of the right-padded row.
  func testLeftPaddedSourcesEncodeLikeRightPadded() throws {
    let m = try lm()
    let right = Tensor([Int64(5), 9, 13, 2, 7, 3, 2, 0], shape: [2, 4])
    let left = Tensor([Int64(5), 9, 13, 2, 0, 7, 3, 2], shape: [2, 4])
    let a = try noGrad {
      try m.encodeSource(right, attentionMask: Tensor([Int64(1), 1, 1, 1, 1, 1, 1, 0], shape: [2, 4]))
    }
    let b = try noGrad {
      try m.encodeSource(left, attentionMask: Tensor([Int64(1), 1, 1, 1, 0, 1, 1, 1], shape: [2, 4]))
    }
    assertClose(a[0], b[0], 1e-6, "unpadded row")
    assertClose(a[1, 0..<3], b[1, 1..<4], 1e-5, "padded row's tokens")
  }

  // MARK: Save and load

  func testSaveWritesTorchNamesAndRoundTrips() throws {
    for dir in [Self.lmDir, Self.preDir] {
      let m = try lm(dir)
      let out = NSTemporaryDirectory() + "transformer-save-\(UUID().uuidString)"
      defer { try? FileManager.default.removeItem(atPath: out) }
      try m.savePretrained(to: out)
      let ours = Set(try SafeTensorsFile(path: out + "/model.safetensors").names)
      let torch = Set(try SafeTensorsFile(path: dir + "/model.safetensors").names)
      XCTAssertEqual(ours, torch, "the names of the torch module's state_dict")
      let config = try ConfigFile.object(at: out + "/config.json")
      XCTAssertEqual(config["model_type"] as? String, "transformer")
      XCTAssertEqual(config["architectures"] as? [String], ["TransformerSeq2SeqLM"])
      let raw = try String(contentsOfFile: out + "/config.json", encoding: .utf8)
      XCTAssertNotNil(raw.range(of: "\"dropout\" ?: ?0\\.0[,\n]", options: .regularExpression), raw)
      let back = try lm(out)
      XCTAssertEqual(back.config, m.config)
      let src = try tensor("input_ids")
      let dec = Tensor([Int64(1), 5, 6, 1, 7, 8], shape: [2, 3])
      let a = try noGrad { try m.forward(inputIds: src, decoderInputIds: dec).logits }
      let b = try noGrad { try back.forward(inputIds: src, decoderInputIds: dec).logits }
      assertClose(a, b, 0, "reloaded logits")
    }
  }

  // MARK: Bad input

  func copyFixture(editing edit: (inout [String: Tensor], inout [String: Any]) -> Void) throws
    -> String
  {
    let dir = NSTemporaryDirectory() + "transformer-bad-\(UUID().uuidString)"
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

  func testBadConfigsAndWeightsAreClearErrors() throws {
    assertLoadFails(
      try copyFixture { _, c in c["nhead"] = 5 }, mentions: ["d_model (16)", "nhead (5)"])
    assertLoadFails(
      try copyFixture { _, c in c["src_vocab_size"] = 30 },
      mentions: ["share_embeddings", "src_vocab_size (30)", "vocab_size (40)"])
    assertLoadFails(
      try copyFixture { _, c in c["decoder_start_token_id"] = NSNull() },
      mentions: ["decoder_start_token_id is null"])
    assertLoadFails(
      try copyFixture { _, c in c["dropout"] = 1.5 }, mentions: ["dropout must be in [0, 1)"])
    assertLoadFails(
      try copyFixture { _, c in c["num_decoder_layers"] = 0 },
      mentions: ["num_decoder_layers must be positive"])
    assertLoadFails(
      try copyFixture { _, c in c["eos_token_id"] = 40 }, mentions: ["eos_token_id 40", "vocab_size 40"])
    assertLoadFails(try copyFixture { _, c in c["activation"] = "swishy" }, mentions: ["activation"])
    assertLoadFails(
      try copyFixture { w, _ in w["transformer.decoder.layers.1.norm3.weight"] = nil },
      mentions: ["missing keys", "transformer.decoder.layers.1.norm3.weight"])
    assertLoadFails(
      try copyFixture { w, _ in
        w["transformer.encoder.layers.0.self_attn.in_proj_weight"] = Tensor.zeros([48, 12])
      }, mentions: ["size mismatches", "in_proj_weight", "[48, 12]", "[48, 16]"])
    // A tied copy of the head in the file is ignored, as HF ignores tied keys.
    let dir = try copyFixture { w, _ in w["lm_head.weight"] = w["shared.weight"] }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    XCTAssertNoThrow(try lm(dir))
  }

  func testBadInputsAreClearErrors() throws {
    let m = try lm()
    let ids = Tensor([Int64(5), 6, 2], shape: [1, 3])
    XCTAssertThrowsError(try m.forward(inputIds: ids)) {
      XCTAssertTrue("\($0)".contains("pass decoder_input_ids or labels"), "\($0)")
    }
    XCTAssertThrowsError(try m.forward(inputIds: Tensor([Int64(5), 40], shape: [1, 2]), labels: ids)) {
      XCTAssertTrue("\($0)".contains("input_ids holds token 40"), "\($0)")
    }
    XCTAssertThrowsError(
      try m.forward(inputIds: Tensor([Int64](repeating: 5, count: 33), shape: [1, 33]), labels: ids)
    ) {
      XCTAssertTrue("\($0)".contains("max_position_embeddings (32)"), "\($0)")
    }
    XCTAssertThrowsError(try m.forward(inputIds: ids, labels: Tensor([Int64(5), 99], shape: [1, 2]))) {
      XCTAssertTrue("\($0)".contains("label 99"), "\($0)")
    }
    XCTAssertThrowsError(
      try m.forward(inputIds: ids, attentionMask: Tensor([Int64(1), 1], shape: [1, 2]), labels: ids)
    ) {
      XCTAssertTrue("\($0)".contains("attention_mask has shape [1, 2]"), "\($0)")
    }
    XCTAssertEqual(try m.shiftTokensRight(Tensor([Int64(5), -100, 7], shape: [1, 3])).int64s, [1, 5, 0])
  }
}
