import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTokenizers
import LoomTestSupport
import XCTest

/// `loom generate`'s user reports: length limit and sliding window, `--tokenizer`
/// with GPT-2's fetched files or `gpt2`, unsupported model types, `--device cpu`.
final class GenerateCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-generate-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  /// A random character-level GPT-2 with 16 positions, saved as `loom train gpt --char` does.
  func charModel() throws -> String {
    let out = dir + "/char"
    let codec = TextCodec.chars(CharTokenizer(corpus: "abcdefgh ,.\n"))
    manualSeed(4)
    let m = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: codec.vocabSize, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil,
        eosTokenId: nil))
    try m.save(to: out)
    try codec.save(to: out, source: nil)
    return out
  }

  func testTooManyNewTokensFailsClearlyOrSlides() throws {
    let model = try charModel()
    let r = try loom(["generate", "--model", model, "--prompt", "abc", "--max-new-tokens", "400"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(
      r.err.contains(
        "prompt 3 + --max-new-tokens 400 = 403 tokens exceed the model's n_positions (16); lower --max-new-tokens or use --sliding-window"
      ), r.err)
    XCTAssertEqual(r.out, "")
    let s = try loom([
      "generate", "--model", model, "--prompt", "abc", "--max-new-tokens", "40", "--sliding-window",
    ])
    XCTAssertEqual(s.status, 0, s.err)
    XCTAssertEqual(s.out.dropLast().unicodeScalars.count, 43, s.out)
    // The same text as the library's sliding window.
    let pipe = try TextGenerationPipeline(directory: model)
    var config = GenerationConfig()
    config.maxNewTokens = 40
    config.slidingWindow = true
    XCTAssertEqual(String(s.out.dropLast()), try pipe("abc", config: config)[0])
  }

  /// `--torch-dtype`: the model is loaded and run in the half type; a dtype that is not one is a
  /// usage error before anything is loaded.
  func testTorchDTypeRunsTheModelInTheHalfType() throws {
    let model = try charModel()
    for dtype in ["bfloat16", "float16", "auto", "float32"] {
      let r = try loom(["generate", "--model", model, "--prompt", "ab", "--max-new-tokens", "8", "--torch-dtype", dtype])
      XCTAssertEqual(r.status, 0, "\(dtype): \(r.err)")
      XCTAssertEqual(r.out.dropLast().unicodeScalars.count, 10, "\(dtype): \(r.out)")
    }
    let bad = try loom(["generate", "--model", model, "--prompt", "ab", "--torch-dtype", "int8"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(
      bad.err.contains("--torch-dtype: torch_dtype 'int8' is not one of auto, float32, bfloat16, float16"), bad.err)
    // QLoRA's loading: the quantizable layers in 4 bits, the rest (embeddings, norms, the tied head) in bf16.
    let quantized = try loom([
      "generate", "--model", model, "--prompt", "ab", "--max-new-tokens", "8", "--torch-dtype", "bfloat16",
      "--load-in-4bit",
    ])
    XCTAssertEqual(quantized.status, 0, quantized.err)
    XCTAssertEqual(quantized.out.dropLast().unicodeScalars.count, 10, quantized.out)
  }

  func testDeviceCPUGivesTheSameText() throws {
    let model = try charModel()
    let plain = try loom(["generate", "--model", model, "--prompt", "ab", "--max-new-tokens", "8"])
    let cpu = try loom([
      "generate", "--model", model, "--prompt", "ab", "--max-new-tokens", "8", "--device", "cpu",
    ])
    XCTAssertEqual(cpu.status, 0, cpu.err)
    XCTAssertEqual(cpu.out, plain.out)
    XCTAssertEqual(cpu.out.dropLast().count, 10)
    let bad = try loom(["generate", "--model", model, "--prompt", "ab", "--device", "tpu"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("unknown device 'tpu'"), bad.err)
  }

  func testUnsupportedModelTypeIsNamed() throws {
    let bert = dir + "/bert"
    try FileManager.default.createDirectory(atPath: bert, withIntermediateDirectories: true)
    try #"{"model_type": "bert", "hidden_size": 384}"#.write(
      toFile: bert + "/config.json", atomically: true, encoding: .utf8)
    var dirs = [bert]
    let minilm = LoomHome.url.appendingPathComponent("minilm").path
    if FileManager.default.fileExists(atPath: minilm + "/config.json") { dirs.append(minilm) }
    for d in dirs {
      let r = try loom(["generate", "--model", d, "--prompt", "hello"])
      XCTAssertNotEqual(r.status, 0)
      XCTAssertTrue(
        r.err.contains("model_type 'bert' is not supported for text generation (supported: bloom, gpt2, llama)"),
        r.err)
      XCTAssertFalse(r.err.contains("missing"), r.err)
    }
    XCTAssertThrowsError(try TextGenerationPipeline(directory: bert)) {
      XCTAssertTrue("\($0)".contains("model_type 'bert' is not supported"), "\($0)")
    }
  }

  func testTokenizerAcceptsGPT2FilesAndName() throws {
    let gpt2 = LoomHome.url.appendingPathComponent("gpt2").path
    guard FileManager.default.fileExists(atPath: gpt2 + "/encoder.json") else {
      throw XCTSkip("GPT-2 vocabulary missing")
    }
    XCTAssertEqual(try Tokenizer.load(path: gpt2).encodeIds("Hello world"), [15496, 995])
    XCTAssertEqual(
      try Tokenizer.load(path: gpt2 + "/encoder.json").encodeIds("Hello world"), [15496, 995])
    XCTAssertEqual(try Tokenizer.load(nameOrPath: "gpt2").encodeIds("Hello world"), [15496, 995])
    XCTAssertThrowsError(try Tokenizer.load(nameOrPath: dir + "/none")) {
      XCTAssertTrue("\($0)".contains("encoder.json + vocab.bpe"), "\($0)")
    }
    for spec in ["gpt2", gpt2] {
      let r = try loom(["tokenizer", "encode", "--tokenizer", spec, "--text", "Hello world"])
      XCTAssertEqual(r.status, 0, r.err)
      XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "15496 995")
    }
    // `loom train gpt --tokenizer` with the fetched files saves a tokenizer generate reads.
    let corpus = dir + "/corpus.txt"
    try String(repeating: "to be or not to be, that is the question.\n", count: 40)
      .write(toFile: corpus, atomically: true, encoding: .utf8)
    let config = dir + "/config.json"
    try #"{"n_positions": 32, "n_embd": 16, "n_layer": 1, "n_head": 2}"#
      .write(toFile: config, atomically: true, encoding: .utf8)
    let trained = dir + "/trained"
    let t = try loom([
      "train", "gpt", "--data", corpus, "--tokenizer", gpt2, "--config", config, "--max-steps", "2",
      "--per-device-train-batch-size", "2", "--samples", "0", "--output-dir", trained,
    ])
    XCTAssertEqual(t.status, 0, t.err)
    XCTAssertTrue(FileManager.default.fileExists(atPath: trained + "/tokenizer.json"))
    let g = try loom(["generate", "--model", trained, "--prompt", "to be", "--max-new-tokens", "4"])
    XCTAssertEqual(g.status, 0, g.err)
    XCTAssertTrue(g.out.hasPrefix("to be"), g.out)
    // A GPT-2 directory without tokenizer files, given one with --tokenizer.
    let model = dir + "/gpt2-random"
    manualSeed(5)
    try GPT2LMHeadModel(GPT2Config(nPositions: 16, nEmbd: 8, nLayer: 1, nHead: 2)).save(to: model)
    let byName = try loom([
      "generate", "--model", model, "--tokenizer", "gpt2", "--prompt", "Hello", "--max-new-tokens",
      "3",
    ])
    XCTAssertEqual(byName.status, 0, byName.err)
    XCTAssertTrue(byName.out.hasPrefix("Hello"), byName.out)
    let byFiles = try loom([
      "generate", "--model", model, "--tokenizer", gpt2, "--prompt", "Hello", "--max-new-tokens",
      "3",
    ])
    XCTAssertEqual(byFiles.out, byName.out)
  }
}
