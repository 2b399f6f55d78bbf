import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// Switch Transformers against Hugging Face transformers on a tiny random checkpoint written by
/// scripts/fixtures/make_switch_fixtures.py: 4 experts, expert_capacity 2 (tokens overflow),
/// encoder blocks 1 and 3 and decoder block 1 sparse, tied lm_head.
final class SwitchParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let dir = fixtures + "/switch-tiny"
  static let expected = try! SafeTensorsFile(path: fixtures + "/switch-tiny-expected.safetensors")
  static let generation: [String: [[Int]]] = {
    let data = FileManager.default.contents(atPath: fixtures + "/switch-tiny-generate.json")!
    let json = try! JSONSerialization.jsonObject(with: data) as! [String: [Any]]
    return json.mapValues { v in (v as? [[Int]]) ?? [v.map { $0 as! Int }] }
  }()

  func lm() throws -> SwitchTransformersForConditionalGeneration {
    try XCTUnwrap(
      try AutoModelForSeq2SeqLM.from(directory: Self.dir)
        as? SwitchTransformersForConditionalGeneration)
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

  func forward(_ m: SwitchTransformersForConditionalGeneration) throws -> SwitchTransformersOutput {
    try m.forward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      labels: tensor("labels"),
      outputRouterLogits: true)
  }

  func testConfigParsesHFFieldsAndSparseSteps() throws {
    let m = try lm()
    let c = m.config
    XCTAssertEqual([c.numExperts, c.expertCapacity, c.numLayers, c.decoderLayers], [4, 2, 4, 2])
    XCTAssertEqual([c.encoderSparseStep, c.decoderSparseStep], [2, 2])
    XCTAssertEqual(c.decoderStartTokenId, 0)
    XCTAssertEqual(c.routerZLossCoef, 0.001)
    XCTAssertEqual(c.routerJitterNoise, 0)
    let sparse = { (s: T5Stack) in
      s.block.map { ($0.layer.last as? SwitchTransformersLayerFF)?.experts != nil }
    }
    XCTAssertEqual(sparse(m.encoder), [false, true, false, true])
    XCTAssertEqual(sparse(m.decoder), [false, true])
    let d = SwitchTransformersConfig()
    XCTAssertEqual(
      [d.dModel, d.numExperts, d.expertCapacity, d.encoderSparseStep], [768, 8, 64, 4])
    XCTAssertNil(d.decoderStartTokenId, "HF leaves it unset")
    // HF's rule: no sparse layers asked for still makes block 1 sparse (step = num_layers).
    XCTAssertEqual(
      (0..<3).map { SwitchTransformersConfig.isSparse(block: $0, step: 3) }, [false, true, false])
    XCTAssertEqual(
      (0..<2).map { SwitchTransformersConfig.isSparse(block: $0, step: 1) }, [true, true])
    XCTAssertFalse(SwitchTransformersConfig.isSparse(block: 1, step: 0))
    // transformers 5 keeps a step config.json gives over the one it derives (2 // 3 = 0 here).
    let given = try JSONDecoder().decode(
      SwitchTransformersConfig.self,
      from: Data(#"{"num_layers": 2, "num_decoder_layers": 2, "encoder_sparse_step": 2, "decoder_sparse_step": 1}"#.utf8))
    XCTAssertEqual([given.numSparseEncoderLayers, given.encoderSparseStep, given.decoderSparseStep], [3, 2, 1])
    let derived = try JSONDecoder().decode(SwitchTransformersConfig.self, from: Data(#"{"num_layers": 2}"#.utf8))
    XCTAssertEqual(derived.encoderSparseStep, 0)
  }

  func testHiddenStatesLogitsRouterLossesAndEveryGradientMatchTransformers() throws {
    let m = try lm()
    m.train()
    let out = try forward(m)
    assertClose(out.encoderLastHiddenState, try tensor("encoder_hidden"), 1e-4, "encoder")
    assertClose(out.lastHiddenState, try tensor("decoder_hidden"), 1e-4, "decoder")
    assertClose(out.logits!, try tensor("logits"), 1e-4, "logits")
    assertClose(
      Tensor.cat(out.encoderRouterLogits, dim: 1), try tensor("encoder_router_logits"), 1e-4,
      "encoder router logits")
    assertClose(
      Tensor.cat(out.decoderRouterLogits, dim: 1), try tensor("decoder_router_logits"), 1e-4,
      "decoder router logits")
    let parts: [(String, Tensor?)] = [
      ("lm_loss", out.lmLoss), ("encoder_z_loss", out.encoderZLoss),
      ("encoder_aux_loss", out.encoderAuxLoss), ("decoder_z_loss", out.decoderZLoss),
      ("decoder_aux_loss", out.decoderAuxLoss), ("loss", out.loss),
    ]
    for (name, t) in parts {
      assertClose(try XCTUnwrap(t, name).reshape([1]), try tensor(name), 1e-4, name)
    }
    // The router losses are not negligible here: the total differs from the LM loss.
    XCTAssertGreaterThan(abs(out.loss!.item() - out.lmLoss!.item()), 1e-3)
    out.loss!.backward()
    let params = m.namedParameters()
    XCTAssertEqual(params.count, 84, "one parameter per HF parameter (tied ones once)")
    XCTAssertEqual(params.count, Self.expected.names.filter { $0.hasPrefix("grad.") }.count)
    for (name, p) in params {
      guard let g = p.grad else {
        XCTFail("no gradient for \(name)")
        continue
      }
      assertClose(g, try tensor("grad.\(name)"), 1e-4, "grad \(name)")
    }
  }

  /// Capacity 2 per expert and sequence: the fixture's first sparse encoder layer routes its
  /// rows' tokens as [2, 4, 3, 0] and [6, 0, 0, 3] (HF's argmax counts), so experts take
  /// [2+2, 2+0, 2+0, 0+2] tokens and 8 of 18 pass through.
  func testOverflowingTokensPassThrough() throws {
    let m = try lm()
    _ = try noGrad { try m.encode(tensor("input_ids"), attentionMask: tensor("attention_mask")) }
    let moe = try XCTUnwrap((m.encoder.block[1].layer.last as? SwitchTransformersLayerFF)?.experts)
    let routing = try XCTUnwrap(moe.lastRouting)
    XCTAssertEqual(routing.tokensPerExpert, [4, 2, 2, 2])
    XCTAssertEqual(routing.expertIndices.shape, [2, 9, 1])
  }

  func testHFDefaultLossIsTheLMLossAndTrainingAddsRouterParts() throws {
    let m = try lm()
    let plain = try m.forward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      labels: tensor("labels"))
    assertClose(plain.loss!.reshape([1]), try tensor("lm_loss"), 1e-4, "output_router_logits=False")
    XCTAssertNil(plain.encoderZLoss)
    let step = try m.seq2seqForward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"), decoderInputIds: nil,
      decoderAttentionMask: nil, labels: tensor("labels"))
    XCTAssertEqual(Set(step.parts.keys), ["z_loss", "aux_loss"])
    assertClose(step.loss.reshape([1]), try tensor("loss"), 1e-4, "seq2seq training loss")
    let z = (try tensor("encoder_z_loss") + tensor("decoder_z_loss")) * 0.001
    assertClose(step.parts["z_loss"]!.reshape([1]), z, 1e-6, "z_loss part")
  }

  func testFiveAdamWStepsMatchTransformers() throws {
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
    let expectedLosses = try tensor("adamw.losses").toArray(Double.self)
    XCTAssertEqual(losses.count, 5)
    for (a, b) in zip(losses, expectedLosses) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    for (name, p) in m.namedParameters() {
      assertClose(p, try tensor("adamw.\(name)"), 1e-4, "\(name) after 5 steps")
    }
  }

  func testGreedyAndBeamSearchMatchTransformers() throws {
    let g = Self.generation
    let m = try lm()
    var base = GenerationConfig(defaultsOf: m.config)
    XCTAssertEqual(base.eosTokenIds, [1])
    XCTAssertEqual(base.decoderStartTokenId, 0)
    var greedy = base
    greedy.maxNewTokens = 12
    XCTAssertEqual(try Generation.generate(m, inputs: g["source"]!, config: greedy), g["greedy"]!)
    base.maxNewTokens = 10
    base.numBeams = 3
    base.lengthPenalty = 1.3
    base.noRepeatNgramSize = 2
    base.earlyStopping = .enabled
    base.numReturnSequences = 2
    XCTAssertEqual(try Generation.generate(m, inputs: g["source"]!, config: base), g["beam"]!)
    var batched = GenerationConfig(defaultsOf: m.config)
    batched.maxNewTokens = 8
    batched.numBeams = 3
    batched.lengthPenalty = 0.8
    batched.noRepeatNgramSize = 2
    let sources = zip(g["batched_sources"]!, g["batched_mask"]!).map { s, mask in
      zip(s, mask).filter { $0.1 == 1 }.map(\.0)
    }
    XCTAssertEqual(try Generation.generate(m, inputs: sources, config: batched), g["batched_beam"]!)
    let (loaded, defaults) = try Generation.loadSeq2SeqLanguageModel(from: Self.dir)
    XCTAssertTrue(loaded is SwitchTransformersForConditionalGeneration)
    XCTAssertEqual(defaults.decoderStartTokenId, 0)
  }

  func testSaveWritesHFNamesAndRoundTrips() throws {
    let m = try lm()
    let dir = NSTemporaryDirectory() + "switch-save-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try m.savePretrained(to: dir)
    let ours = Set(try SafeTensorsFile(path: dir + "/model.safetensors").names)
    let theirs = Set(try SafeTensorsFile(path: Self.dir + "/model.safetensors").names)
    XCTAssertEqual(ours, theirs)
    XCTAssertTrue(ours.contains("encoder.block.1.layer.1.mlp.router.classifier.weight"))
    XCTAssertTrue(ours.contains("decoder.block.1.layer.2.mlp.experts.expert_3.wo.weight"))
    XCTAssertTrue(ours.contains("encoder.block.0.layer.1.mlp.wi.weight"))
    let config = try ConfigFile.object(at: dir + "/config.json")
    XCTAssertEqual(config["model_type"] as? String, "switch_transformers")
    XCTAssertEqual(
      config["architectures"] as? [String], ["SwitchTransformersForConditionalGeneration"])
    XCTAssertEqual(config["encoder_sparse_step"] as? Int, 2)
    XCTAssertEqual(config["expert_capacity"] as? Int, 2)
    let back = try XCTUnwrap(
      try AutoModelForSeq2SeqLM.from(directory: dir) as? SwitchTransformersForConditionalGeneration)
    let src = try tensor("input_ids")
    let dec = try m.shiftRight(try tensor("labels"))
    let a = try noGrad { try m.forward(inputIds: src, decoderInputIds: dec).logits! }
    let b = try noGrad { try back.forward(inputIds: src, decoderInputIds: dec).logits! }
    assertClose(a, b, 0, "reloaded logits")
    let base = try XCTUnwrap(try AutoModel.from(directory: dir) as? SwitchTransformersModel)
    let h = try noGrad { try base.forward(inputIds: src, decoderInputIds: dec) }
    assertClose(h.encoderLastHiddenState, try noGrad { try m.encode(src) }, 0, "base encoder")
    XCTAssertEqual(h.encoderRouterLogits.count, 2)
  }

  // MARK: Bad input

  func config(_ json: String) throws -> SwitchTransformersConfig {
    try JSONDecoder().decode(SwitchTransformersConfig.self, from: Data(json.utf8))
  }

  func assertInvalid(_ json: String, mentions: [String], line: UInt = #line) throws {
    let c = try config(json)
    XCTAssertThrowsError(try c.validate(), line: line) { error in
      for s in mentions {
        XCTAssertTrue("\(error)".contains(s), "\(error) should mention \(s)", line: line)
      }
    }
  }

  func testBadConfigsAndInputsThrowClearErrors() throws {
    try assertInvalid(#"{"expert_capacity": 0}"#, mentions: ["expert_capacity", "got 0"])
    try assertInvalid(#"{"num_experts": 0}"#, mentions: ["num_experts"])
    try assertInvalid(#"{"router_jitter_noise": 1.5}"#, mentions: ["jitter"])
    try assertInvalid(#"{"dense_act_fn": "gated-gelu"}"#, mentions: ["dense_act_fn", "gated-gelu"])
    try assertInvalid(#"{"router_dtype": "int8"}"#, mentions: ["router_dtype"])
    try assertInvalid(
      #"{"num_sparse_encoder_layers": -1}"#, mentions: ["num_sparse_encoder_layers"])
    var c = try lm().config
    c.decoderStartTokenId = nil
    let m = try SwitchTransformersForConditionalGeneration(c)
    XCTAssertThrowsError(try m.forward(inputIds: tensor("input_ids"), labels: tensor("labels"))) {
      XCTAssertTrue("\($0)".contains("decoder_start_token_id"), "\($0)")
    }
  }
}
