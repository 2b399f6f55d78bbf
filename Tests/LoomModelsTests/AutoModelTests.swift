import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomTestSupport
import XCTest

/// AutoConfig / AutoModel… through the model_type registry, the one loader (single
/// file, sharded index, key fix-ups, strict errors) and `savePretrained`.
final class AutoModelTests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let gpt2 = fixtures + "/gpt2-tiny"
  static let expected = try! SafeTensorsFile(path: fixtures + "/gpt2-tiny-expected.safetensors")
  var dir: String!

  override func setUp() {
    TestDevice.apply()
    dir = NSTemporaryDirectory() + "loom-auto-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func maxError(_ a: Tensor, _ b: Tensor) -> Double {
    XCTAssertEqual(a.shape, b.shape)
    return zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
  }

  func assertThrows(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
      for p in parts { XCTAssertTrue("\(error)".contains(p), "'\(p)' not in: \(error)", file: file, line: line) }
    }
  }

  /// A directory with the fixture's config (edited) and the given weights.
  func writeGPT2(_ weights: [String: Tensor], edit: (inout [String: Any]) -> Void = { _ in }, to path: String? = nil) throws -> String {
    let out = path ?? dir + "/m-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.gpt2 + "/config.json"))) as! [String: Any]
    edit(&config)
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: out + "/config.json"))
    try SafeTensors.save(weights, metadata: ["format": "pt"], to: out + "/model.safetensors")
    return out
  }

  func fixtureWeights() throws -> [String: Tensor] { try SafeTensors.load(Self.gpt2 + "/model.safetensors") }

  func testAutoClassesLoadTheGPT2FixtureByModelType() throws {
    let config = try XCTUnwrap(try AutoConfig.from(directory: Self.gpt2) as? GPT2Config)
    XCTAssertEqual([config.vocabSize, config.nPositions, config.nEmbd, config.nLayer, config.nHead], [97, 64, 32, 2, 4])
    XCTAssertEqual(config.activationFunction, .geluNew)
    let lm = try XCTUnwrap(try AutoModelForCausalLM.from(directory: Self.gpt2) as? GPT2LMHeadModel)
    let ids = try Self.expected.tensor("input_ids")
    XCTAssertLessThanOrEqual(maxError(noGrad { lm(ids) }, try Self.expected.tensor("logits")), 1e-4)
    // AutoModel gives the trunk (GPT2Model), loading the head model's "transformer." weights.
    let base = try XCTUnwrap(try AutoModel.from(directory: Self.gpt2) as? GPT2Model)
    XCTAssertEqual(maxError(noGrad { base(ids) }, noGrad { lm.transformer(ids) }), 0)
    // The other Auto classes say what the family lacks.
    assertThrows(try AutoModelForMaskedLM.from(directory: Self.gpt2), contains: ["model_type 'gpt2' has no AutoModelForMaskedLM", "AutoModel, AutoModelForCausalLM"])
    XCTAssertEqual(
      ModelRegistry.supportedModelTypes, ["ae", "bart", "bert", "bloom", "conv-vae", "dae", "distilbert", "gpt2", "llama", "roberta", "switch_transformers", "t5", "transformer", "vae"])
  }

  func testAutoModelLoadsAutoencoderSavesByModelType() throws {
    let x = Tensor.rand([3, 784], generator: Generator(seed: 1))
    let cases: [(Module & ImageAutoencoder, String)] = [
      (Autoencoder(AutoencoderConfig(layerSizes: [784, 16, 4])), "ae"),
      (Autoencoder(AutoencoderConfig(layerSizes: [784, 8, 3], noise: .masking(fraction: 0.25))), "dae"),
      (VAE(VAEConfig(latentSize: 5, hiddenSize: 12)), "vae"),
      (try AutoencoderKind.convVAE.make(vae: { var c = VAEConfig(latentSize: 4); c.channels = [2, 3]; return c }()), "conv-vae"),
    ]
    for (model, modelType) in cases {
      let out = dir + "/" + modelType
      try model.savePretrained(to: out)
      let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
      XCTAssertEqual(json["model_type"] as? String, modelType)
      if modelType.hasSuffix("vae") {
        XCTAssertEqual(json["image_height"] == nil, modelType == "vae", "only the conv VAE writes image fields")
      }
      let loaded = try XCTUnwrap(try AutoModel.from(directory: out) as? Module & ImageAutoencoder, modelType)
      XCTAssertTrue(type(of: loaded) == type(of: model), modelType)
      model.eval()
      loaded.eval()
      XCTAssertEqual(maxError(noGrad { loaded.reconstruct(x) }, noGrad { model.reconstruct(x) }), 0, modelType)
    }
    // A plain AE config as older `loom train ae` wrote it (no architectures) with missing fields defaulted.
    let old = dir + "/old-ae"
    try Autoencoder().savePretrained(to: old)
    try Data(#"{"model_type": "ae", "noise": "none"}"#.utf8).write(to: URL(fileURLWithPath: old + "/config.json"))
    XCTAssertEqual((try AutoModel.from(directory: old) as? Autoencoder)?.config.layerSizes, [784, 128, 64, 36, 18, 9])
    // Typed loading refuses another family's directory.
    assertThrows(try VAE.fromPretrained(dir + "/conv-vae"), contains: ["model_type 'conv-vae'", "VAE cannot load", "ConvVAE"])
  }

  func testUnsupportedModelTypeIsNamed() throws {
    let bert = dir + "/minilm"
    try FileManager.default.createDirectory(atPath: bert, withIntermediateDirectories: true)
    // MiniLM's config is a BERT, which Loom now reads; an XLNet is not supported.
    let shipped = NSHomeDirectory() + "/.cache/loom/minilm/config.json"
    let config = FileManager.default.contents(atPath: shipped)
      ?? Data(#"{"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 384, "vocab_size": 30522}"#.utf8)
    try config.write(to: URL(fileURLWithPath: bert + "/config.json"))
    XCTAssertEqual((try AutoConfig.from(directory: bert) as? BertConfig)?.hiddenSize, 384)
    assertThrows(try GPT2LMHeadModel.load(from: bert), contains: ["model_type 'bert'", "GPT2LMHeadModel cannot load"])
    try Data(#"{"architectures": ["XLNetModel"], "model_type": "xlnet", "d_model": 384}"#.utf8)
      .write(to: URL(fileURLWithPath: bert + "/config.json"))
    try SafeTensors.save(["shared.weight": Tensor.zeros([2, 2])], to: bert + "/model.safetensors")
    let message = "model_type 'xlnet' is not supported yet (supported: ae, bart, bert, bloom, conv-vae, dae, distilbert, gpt2, llama, roberta, switch_transformers, t5, transformer, vae)"
    assertThrows(try AutoModel.from(directory: bert), contains: [bert + "/config.json", message])
    assertThrows(try AutoConfig.from(directory: bert), contains: [message])
    // What `loom generate --model` calls.
    assertThrows(try GPT2LMHeadModel.load(from: bert), contains: [message])
    // No model_type: architectures decide, else a clear error.
    try Data(#"{"architectures": ["GPT2LMHeadModel"], "n_embd": 48}"#.utf8).write(to: URL(fileURLWithPath: bert + "/config.json"))
    XCTAssertEqual((try AutoConfig.from(directory: bert) as? GPT2Config)?.nEmbd, 48)
    try Data(#"{"hidden_size": 32}"#.utf8).write(to: URL(fileURLWithPath: bert + "/config.json"))
    assertThrows(try AutoConfig.from(directory: bert), contains: ["has no model_type", "supported: ae"])
  }


  func testGenerateCommandNamesTheUnsupportedModelType() throws {
    try Data(#"{"model_type": "bert", "hidden_size": 384}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
    let r = try loom(["generate", "--model", dir, "--prompt", "hello"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("model_type 'bert' is not supported for text generation (supported: bloom, gpt2, llama)"), r.err)
    XCTAssertFalse(r.err.contains("missing keys"), r.err)
    try Data(#"{"model_type": "xlnet", "d_model": 384}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
    let summary = try loom(["summary", dir])
    XCTAssertTrue(summary.err.contains("model_type 'xlnet' is not supported yet"), summary.err)
  }

  /// 1234567 → "1,234,567", as the summary prints counts.
  func grouped(_ n: Int) -> String {
    var s = String(n)
    for i in stride(from: s.count - 3, to: 0, by: -3) { s.insert(",", at: s.index(s.startIndex, offsetBy: i)) }
    return s
  }

  func testSummaryTakesAnyModelDirectoryOrPreset() throws {
    let fixture = try loom(["summary", Self.gpt2])
    XCTAssertEqual(fixture.status, 0, fixture.err)
    let params = try GPT2LMHeadModel.load(from: Self.gpt2).parameterCount()
    XCTAssertEqual(params, 97 * 32 + 64 * 32 + 2 * (4 * 32 + 32 * 96 + 96 + 32 * 32 + 32 + 32 * 128 + 128 + 128 * 32 + 32) + 2 * 32)
    XCTAssertTrue(fixture.out.contains("GPT2Attention-6"), fixture.out)
    XCTAssertTrue(fixture.out.contains("Total params: \(grouped(params))"), fixture.out)
    let ae = dir + "/ae"
    try Autoencoder().savePretrained(to: ae)
    let aeTable = try loom(["summary", ae])
    XCTAssertTrue(aeTable.out.contains("Total params: 224,601"), aeTable.out + aeTable.err)
    let tiny = try loom(["summary", "tiny", "--vocab-size", "65"])
    XCTAssertEqual(tiny.status, 0, tiny.err)
    let tinyParams = 65 * 128 + 128 * 128 + 4 * (12 * 128 * 128 + 13 * 128) + 2 * 128
    XCTAssertTrue(tiny.out.contains("Total params: \(grouped(tinyParams))"), tiny.out)
  }

  /// Encoder–decoder directories (T5, Switch, the Transformer) summarise with their LM head:
  /// leaf layers with the decoder's output shapes and the model's parameter count.
  func testSummaryOfSeq2SeqModelDirectories() throws {
    let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
    for (name, layer, width) in [
      ("t5-tiny", "T5LayerNorm", 8), ("switch-tiny", "T5LayerNorm", 8), ("transformer-tiny", "LayerNorm", 16),
    ] {
      let r = try loom(["summary", fixtures + "/" + name, "--sequence-length", "5"])
      XCTAssertEqual(r.status, 0, name + r.err)
      let m = try AutoModelForSeq2SeqLM.from(directory: fixtures + "/" + name)
      XCTAssertTrue(r.out.contains("Total params: \(grouped(m.parameterCount()))"), name + r.out)
      XCTAssertTrue(r.out.contains(layer), name + r.out)
      XCTAssertTrue(r.out.contains("[-1, 5, \(width)]"), name + r.out)
    }
  }

  func testMissingUnexpectedAndMismatchedWeightsNameFileAndKey() throws {
    var weights = try fixtureWeights()
    weights["transformer.h.1.mlp.c_fc.weight"] = nil
    weights["transformer.h.0.attn.c_attn.weight"] = Tensor.zeros([32, 64])
    weights["transformer.h.0.extra"] = Tensor.zeros([2])
    let path = try writeGPT2(weights)
    assertThrows(
      try AutoModelForCausalLM.from(directory: path),
      contains: [
        "missing keys (1): model.safetensors has no transformer.h.1.mlp.c_fc.weight (config.json implies [32, 128])",
        "unexpected keys (1): model.safetensors: transformer.h.0.extra",
        "size mismatches (1): model.safetensors: transformer.h.0.attn.c_attn.weight has shape [32, 64], config.json implies [32, 96]",
        "does config.json match the weights? vocab_size 97, n_positions 64, n_embd 32, n_layer 2, n_head 4",
      ])
    // A config larger than the weights.
    let bigger = try writeGPT2(try fixtureWeights()) { $0["n_layer"] = 3 }
    assertThrows(try GPT2LMHeadModel.load(from: bigger), contains: ["model.safetensors has no transformer.h.2.ln_1.weight"])
  }

  func testKeyFixUpsForHFCheckpoints() throws {
    // A base-model checkpoint (no "transformer." prefix) with a redundant tied head and
    // old attention-mask buffers loads into the LM head model.
    var weights: [String: Tensor] = [:]
    for (k, v) in try fixtureWeights() { weights[String(k.dropFirst("transformer.".count))] = v }
    weights["lm_head.weight"] = weights["wte.weight"]
    weights["h.0.attn.bias"] = Tensor.ones([1, 1, 64, 64])
    weights["h.1.attn.masked_bias"] = Tensor.scalar(-1e4)
    let path = try writeGPT2(weights)
    let lm = try GPT2LMHeadModel.load(from: path)
    let ids = try Self.expected.tensor("input_ids")
    XCTAssertLessThanOrEqual(maxError(noGrad { lm(ids) }, try Self.expected.tensor("logits")), 1e-4)
  }

  func testShardedIndexLoads() throws {
    let weights = try fixtureWeights()
    let names = weights.keys.sorted()
    let halves = [Array(names.prefix(names.count / 2)), Array(names.dropFirst(names.count / 2))]
    let sharded = try writeGPT2([:])
    try FileManager.default.removeItem(atPath: sharded + "/model.safetensors")
    var map: [String: String] = [:]
    for (i, half) in halves.enumerated() {
      let shard = "model-0000\(i + 1)-of-00002.safetensors"
      try SafeTensors.save(Dictionary(uniqueKeysWithValues: half.map { ($0, weights[$0]!) }), to: sharded + "/" + shard)
      for n in half { map[n] = shard }
    }
    let index: [String: Any] = ["metadata": ["total_size": 125_000], "weight_map": map]
    try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: sharded + "/model.safetensors.index.json"))
    let lm = try XCTUnwrap(try AutoModelForCausalLM.from(directory: sharded) as? GPT2LMHeadModel)
    let single = try GPT2LMHeadModel.load(from: Self.gpt2)
    let ids = try Self.expected.tensor("input_ids")
    XCTAssertEqual(maxError(noGrad { lm(ids) }, noGrad { single(ids) }), 0)
    // A shape mismatch names the shard holding the tensor.
    let second = halves[1][0]
    var shard2 = Dictionary(uniqueKeysWithValues: halves[1].map { ($0, weights[$0]!) })
    shard2[second] = Tensor.zeros([1])
    try SafeTensors.save(shard2, to: sharded + "/model-00002-of-00002.safetensors")
    assertThrows(try AutoModel.from(directory: sharded), contains: ["model-00002-of-00002.safetensors: \(second.dropFirst("transformer.".count)) has shape [1]"])
    // A missing shard is named with a tensor the index puts there.
    try FileManager.default.removeItem(atPath: sharded + "/model-00002-of-00002.safetensors")
    assertThrows(try GPT2LMHeadModel.load(from: sharded), contains: ["model.safetensors.index.json: weight_map puts", "in model-00002-of-00002.safetensors, which is missing"])
  }

  func testSaveLoadRoundTripWritesHFLayout() throws {
    let lm = try GPT2LMHeadModel.load(from: Self.gpt2)
    let out = dir + "/saved"
    try lm.savePretrained(to: out)
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(json["model_type"] as? String, "gpt2")
    XCTAssertEqual(json["architectures"] as? [String], ["GPT2LMHeadModel"])
    XCTAssertEqual(json["activation_function"] as? String, "gelu_new")
    XCTAssertTrue(json["pad_token_id"] != nil && json["n_inner"] is NSNull, "optionals are written as null like HF")
    let names = try SafeTensorsFile(path: out + "/model.safetensors").names
    XCTAssertEqual(names.count, 28)
    XCTAssertFalse(names.contains("lm_head.weight"), "the tied head is omitted like HF")
    let again = try XCTUnwrap(try AutoModelForCausalLM.from(directory: out) as? GPT2LMHeadModel)
    XCTAssertEqual(again.config, lm.config)
    let ids = Tensor([Int64(1), 2, 3], shape: [1, 3])
    XCTAssertEqual(maxError(noGrad { again(ids) }, noGrad { lm(ids) }), 0)
    // The base model saves HF's GPT2Model layout (no prefix), which the head model reads back.
    let base = dir + "/base"
    try lm.transformer.savePretrained(to: base)
    XCTAssertTrue(try SafeTensorsFile(path: base + "/model.safetensors").names.contains("wte.weight"))
    let fromBase = try GPT2LMHeadModel.load(from: base)
    XCTAssertEqual(maxError(noGrad { fromBase(ids) }, noGrad { lm(ids) }), 0)
  }

  func testUntiedHeadLoadsItsOwnWeight() throws {
    // HF's GPT2LMHeadModel with tie_word_embeddings=False computes lm_head(transformer(x));
    // the trunk is the HF-verified fixture, so HF's logits are hidden · headᵀ.
    let tied = try GPT2LMHeadModel.load(from: Self.gpt2)
    let head = Tensor.randn([97, 32], std: 0.3, generator: Generator(seed: 7))
    var weights = try fixtureWeights()
    weights["lm_head.weight"] = head
    let path = try writeGPT2(weights) { $0["tie_word_embeddings"] = false }
    let untied = try XCTUnwrap(try AutoModelForCausalLM.from(directory: path) as? GPT2LMHeadModel)
    XCTAssertNotNil(untied.lm_head)
    XCTAssertEqual(untied.namedParameters().count, 29)
    let ids = try Self.expected.tensor("input_ids")
    let hfLogits = noGrad { linear(tied.transformer(ids), weight: head) }
    XCTAssertLessThanOrEqual(maxError(noGrad { untied(ids) }, hfLogits), 1e-5)
    XCTAssertGreaterThan(maxError(noGrad { untied(ids) }, try Self.expected.tensor("logits")), 0.1, "the head is not wte")
    // Its save keeps lm_head.weight and reloads untied.
    try untied.savePretrained(to: dir + "/untied")
    XCTAssertTrue(try SafeTensorsFile(path: dir + "/untied/model.safetensors").names.contains("lm_head.weight"))
    let again = try GPT2LMHeadModel.load(from: dir + "/untied")
    XCTAssertFalse(again.config.tieWordEmbeddings)
    XCTAssertEqual(maxError(noGrad { again(ids) }, noGrad { untied(ids) }), 0)
    // Untied without the weight is a missing key, not a silent tie.
    weights["lm_head.weight"] = nil
    let missing = try writeGPT2(weights) { $0["tie_word_embeddings"] = false }
    assertThrows(try GPT2LMHeadModel.load(from: missing), contains: ["model.safetensors has no lm_head.weight (config.json implies [97, 32])"])
  }

  func testActivationsByHFName() throws {
    let x = Tensor([Float(-2), -1, 0, 1, 7, 20], shape: [6])
    func values(_ a: Activation) -> [Double] { a(x).toArray(Double.self) }
    func close(_ a: [Double], _ b: [Double], _ what: String) {
      for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5, what) }
    }
    close(values(.gelu), [-0.0455003, -0.1586553, 0, 0.8413447, 7, 20], "gelu")
    close(values(.geluNew), [-0.0454023, -0.1588080, 0, 0.8411920, 7, 20], "gelu_new")
    XCTAssertEqual(values(.geluPytorchTanh), values(.geluNew))
    close(values(.gelu10), [-0.0455003, -0.1586553, 0, 0.8413447, 7, 10], "gelu_10")
    close(values(.quickGelu), [-0.0643414, -0.1542042, 0, 0.8457958, 6.9999531, 20], "quick_gelu")
    close(values(.relu6), [0, 0, 0, 1, 6, 6], "relu6")
    close(values(.relu2), [0, 0, 0, 1, 49, 400], "relu2")
    close(values(.leakyRelu), [-0.02, -0.01, 0, 1, 7, 20], "leaky_relu")
    close(values(.silu), [-0.2384058, -0.2689414, 0, 0.7310586, 6.9936226, 20], "silu")
    XCTAssertEqual(values(.swish), values(.silu))
    close(values(.mish), [-0.2525015, -0.3034015, 0, 0.8650984, 6.9999884, 20], "mish")
    close(values(.sigmoid), [0.1192029, 0.2689414, 0.5, 0.7310586, 0.9990889, 1], "sigmoid")
    close(values(.linear), [-2, -1, 0, 1, 7, 20], "linear")
    XCTAssertEqual(try Activation(name: "gelu_pytorch_tanh"), .geluPytorchTanh)
    assertThrows(try Activation(name: "gelu2"), contains: ["unknown activation 'gelu2'", "gelu_new", "quick_gelu"])
    // In a config: the field, the value and the valid names.
    let path = try writeGPT2(try fixtureWeights()) { $0["activation_function"] = "swiglu" }
    assertThrows(try GPT2LMHeadModel.load(from: path), contains: [path + "/config.json", "field 'activation_function'", "unknown activation 'swiglu'", "gelu_pytorch_tanh"])
    let relu = try writeGPT2(try fixtureWeights()) { $0["activation_function"] = "relu" }
    XCTAssertEqual(try GPT2LMHeadModel.load(from: relu).config.activationFunction, .relu)
  }

  func testConfigDecodingDefaultsAndErrors() throws {
    let decoded = try JSONDecoder().decode(GPT2Config.self, from: Data(#"{"model_type": "gpt2"}"#.utf8))
    XCTAssertEqual(decoded, GPT2Config())
    XCTAssertEqual([decoded.vocabSize, decoded.nPositions, decoded.nEmbd, decoded.nLayer, decoded.nHead], [50257, 1024, 768, 12, 12])
    XCTAssertEqual(decoded.bosTokenId, 50256, "HF's default when the key is missing")
    XCTAssertEqual(decoded.residPdrop, 0.1)
    XCTAssertTrue(decoded.tieWordEmbeddings)
    let nulls = try JSONDecoder().decode(GPT2Config.self, from: Data(#"{"bos_token_id": null, "n_inner": 64}"#.utf8))
    XCTAssertNil(nulls.bosTokenId)
    XCTAssertEqual(nulls.nInner, 64)
    // Encoding and decoding round-trips every field.
    var c = GPT2Config(vocabSize: 11, nPositions: 8, nEmbd: 4, nLayer: 1, nHead: 2)
    (c.activationFunction, c.tieWordEmbeddings, c.eosTokenId, c.layerNormEpsilon) = (.silu, false, nil, 1e-6)
    XCTAssertEqual(try JSONDecoder().decode(GPT2Config.self, from: JSONEncoder().encode(c)), c)

    let wrongType = try writeGPT2([:]) { $0["n_embd"] = "wide" }
    assertThrows(try GPT2LMHeadModel.load(from: wrongType), contains: [wrongType + "/config.json", "field 'n_embd' must be an integer"])
    let tooDeep = try writeGPT2([:]) { $0["n_layer"] = 5000 }
    assertThrows(try AutoModel.from(directory: tooDeep), contains: [tooDeep + "/config.json", "n_layer = 5000 is beyond Loom's limit of 1024"])
    let tooWide = try writeGPT2([:]) { $0["vocab_size"] = 1 << 40 }
    assertThrows(try AutoConfig.from(directory: tooWide), contains: ["vocab_size = 1099511627776 is beyond"])
    let zero = try writeGPT2([:]) { $0["n_head"] = 0 }
    assertThrows(try AutoConfig.from(directory: zero), contains: ["n_head must be positive, got 0"])
    let vae = try writeGPT2([:]) { $0 = ["model_type": "vae", "latent_size": "x"] }
    assertThrows(try AutoModel.from(directory: vae), contains: ["field 'latent_size' must be an integer"])
  }
}
