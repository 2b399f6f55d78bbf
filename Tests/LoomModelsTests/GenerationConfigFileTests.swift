import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTokenizers
import LoomTestSupport
import XCTest

/// generation_config.json as the defaults of `loom generate` (flags win), against
/// transformers' `generate` on the same directories
/// (scripts/fixtures/make_generation_config_fixtures.py); malformed files; eos_token_id lists.
final class GenerationConfigFileTests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

  struct Case: Decodable {
    let name: String
    let ids: [[Int]]
    let texts: [String]?
  }
  struct Model: Decodable {
    let input_ids: [Int]
    let cases: [Case]
    func ids(_ name: String) -> [[Int]] { cases.first { $0.name == name }!.ids }
    func texts(_ name: String) -> [String] { cases.first { $0.name == name }!.texts! }
  }
  struct Expected: Decodable {
    let bart: Model
    let gpt2: Model
  }

  static let raw: [String: Any] = {
    let data = FileManager.default.contents(atPath: fixtures + "/generation-config.json")!
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
  }()
  static let expected: Expected = {
    let data = FileManager.default.contents(atPath: fixtures + "/generation-config.json")!
    return try! JSONDecoder().decode(Expected.self, from: data)
  }()

  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-generation-config-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  /// A copy of the fixture directory `source` with `generation` as its generation_config.json
  /// (what the fixture script built).
  func directory(_ source: String, generation: Any) throws -> String {
    let out = dir + "/" + source
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    for f in try FileManager.default.contentsOfDirectory(atPath: Self.fixtures + "/" + source)
    where f != "generation_config.json" {
      try FileManager.default.copyItem(
        atPath: Self.fixtures + "/\(source)/\(f)", toPath: out + "/" + f)
    }
    let data = try JSONSerialization.data(withJSONObject: generation)
    try data.write(to: URL(fileURLWithPath: out + "/generation_config.json"))
    return out
  }

  func fileConfig(_ model: String) -> Any {
    (Self.raw[model] as! [String: Any])["generation_config"]!
  }

  func testBartFileDefaultsMatchTransformers() throws {
    let model = try directory("bart-tiny-text", generation: fileConfig("bart"))
    let e = Self.expected.bart
    let (lm, defaults) = try Generation.loadSeq2SeqLanguageModel(from: model)
    XCTAssertEqual(defaults.eosTokenIds, [2, 211])
    XCTAssertEqual(defaults.numBeams, 3)
    XCTAssertEqual(defaults.minLength, 5)
    XCTAssertEqual(
      try Generation.generate(lm, inputs: [e.input_ids], config: defaults), e.ids("file"))
    var g = defaults
    (g.numBeams, g.maxNewTokens) = (1, 6)
    XCTAssertEqual(try Generation.generate(lm, inputs: [e.input_ids], config: g), e.ids("override"))
    g = defaults
    g.eosTokenIds = [2]
    XCTAssertEqual(
      try Generation.generate(lm, inputs: [e.input_ids], config: g), e.ids("list_eos_off"))

    // The CLI: the file's settings with no flags; flags over them.
    let prompt = "to be or not to be"
    let r = try loom(["generate", "--model", model, "--prompt", prompt])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertEqual(r.out, e.texts("file")[0] + "\n")
    let o = try loom([
      "generate", "--model", model, "--prompt", prompt, "--num-beams", "1", "--max-new-tokens", "6",
    ])
    XCTAssertEqual(o.status, 0, o.err)
    XCTAssertEqual(o.out, e.texts("override")[0] + "\n")
    XCTAssertNotEqual(r.out, o.out)
  }

  func testGPT2FileDefaultsMatchTransformers() throws {
    let model = try directory("gpt2-tiny", generation: fileConfig("gpt2"))
    let e = Self.expected.gpt2
    let lm = try Generation.loadCausalLanguageModel(from: model)
    let (defaults, file) = try GenerationConfigFile.defaults(
      directory: model, model: GenerationConfig(defaultsOf: lm.config))
    XCTAssertEqual(file?.keys.contains("num_beams"), true)
    XCTAssertEqual(defaults.eosTokenIds, [96, 69])
    XCTAssertEqual(defaults.maxLength, 16)
    XCTAssertEqual(
      try Generation.generate(lm, prompts: [e.input_ids], config: defaults), e.ids("file"))
    var g = defaults
    (g.numBeams, g.maxNewTokens) = (1, 6)
    XCTAssertEqual(
      try Generation.generate(lm, prompts: [e.input_ids], config: g), e.ids("override"))
  }

  /// The causal CLI path: a character model whose generation_config.json asks for beams and
  /// 5 new tokens prints what the pipeline gives with those settings; flags win.
  func testCausalCLIUsesTheFileUnderItsFlags() throws {
    let model = dir + "/char"
    let codec = TextCodec.chars(CharTokenizer(corpus: "abcdefgh ,.\n"))
    manualSeed(4)
    let m = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: codec.vocabSize, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil,
        eosTokenId: nil))
    try m.save(to: model)
    try codec.save(to: model, source: nil)
    let file =
      #"{"num_beams": 3, "max_new_tokens": 5, "no_repeat_ngram_size": 1, "_from_model_config": false}"#
    try file.write(toFile: model + "/generation_config.json", atomically: true, encoding: .utf8)
    let pipe = try TextGenerationPipeline(directory: model)
    var g = GenerationConfig()
    (g.numBeams, g.maxNewTokens, g.noRepeatNgramSize) = (3, 5, 1)
    let r = try loom(["generate", "--model", model, "--prompt", "ab"])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertEqual(r.out, try pipe("ab", config: g)[0] + "\n")
    XCTAssertEqual(r.out.count, 8)
    g.numBeams = 1
    g.maxNewTokens = 7
    let o = try loom([
      "generate", "--model", model, "--prompt", "ab", "--num-beams", "1", "--max-new-tokens", "7",
    ])
    XCTAssertEqual(o.status, 0, o.err)
    XCTAssertEqual(o.out, try pipe("ab", config: g)[0] + "\n")
    XCTAssertEqual(o.out.count, 10)
    // A file's value that exceeds the model is named as the file's field.
    try #"{"max_new_tokens": 40}"#.write(
      toFile: model + "/generation_config.json", atomically: true, encoding: .utf8)
    let long = try loom(["generate", "--model", model, "--prompt", "ab"])
    XCTAssertNotEqual(long.status, 0)
    XCTAssertTrue(
      long.err.contains(
        "prompt 2 + \(model)/generation_config.json: field 'max_new_tokens' 40 = 42 tokens exceed"),
      long.err)
  }

  func testMalformedFilesNameTheFileAndField() throws {
    let model = try directory("bart-tiny-text", generation: [String: Any]())
    let path = model + "/generation_config.json"
    let cases: [(String, String)] = [
      (#"{"num_beams": "three"}"#, "\(path): field 'num_beams' must be an integer"),
      (
        #"{"eos_token_id": "x"}"#,
        "\(path): field 'eos_token_id': must be an integer or a list of integers"
      ),
      (
        #"{"eos_token_id": [2, 2.5]}"#,
        "\(path): field 'eos_token_id': must be an integer or a list of integers"
      ),
      (
        #"{"early_stopping": "sometimes"}"#,
        "\(path): field 'early_stopping': must be true, false or \"never\""
      ),
      (#"{"num_beams": 0}"#, "\(path): field 'num_beams' must be >= 1, got 0"),
      (#"{"top_p": 1.5}"#, "\(path): field 'top_p' must be in (0, 1], got 1.5"),
      (#"{"pad_token_id": -1}"#, "\(path): field 'pad_token_id' must be a token id >= 0, got -1"),
      ("[1, 2]", "\(path) is not a JSON object"),
      ("{num_beams: 2", "\(path): not valid JSON"),
    ]
    for (text, message) in cases {
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      XCTAssertThrowsError(try GenerationConfigFile.load(directory: model), text) {
        XCTAssertTrue("\($0)".hasPrefix(message), "\(text): \($0)")
      }
    }
    // The CLI says the same; a contradiction between file fields names them as the file's.
    try #"{"num_beams": "three"}"#.write(toFile: path, atomically: true, encoding: .utf8)
    let r = try loom(["generate", "--model", model, "--prompt", "to be"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("\(path): field 'num_beams' must be an integer"), r.err)
    XCTAssertEqual(r.out, "")
    try #"{"num_beams": 2, "num_return_sequences": 3}"#.write(
      toFile: path, atomically: true, encoding: .utf8)
    let c = try loom(["generate", "--model", model, "--prompt", "to be"])
    XCTAssertNotEqual(c.status, 0)
    XCTAssertTrue(
      c.err.contains(
        "\(path): field 'num_return_sequences' (3) must be <= \(path): field 'num_beams' (2)"),
      c.err)
    // A flag settles it.
    let f = try loom([
      "generate", "--model", model, "--prompt", "to be", "--num-return-sequences", "2",
      "--max-new-tokens", "8",
    ])
    XCTAssertEqual(f.status, 0, f.err)
    XCTAssertEqual(f.out.components(separatedBy: "--- sequence").count, 3, f.out)
  }

  /// config.json's eos_token_id as a list: read whole, written back as a list, used by
  /// generation; one id stays one integer.
  func testEosTokenIdListInConfigJSON() throws {
    let model = try directory("bart-tiny-text", generation: [String: Any]())
    try FileManager.default.removeItem(atPath: model + "/generation_config.json")
    let path = model + "/config.json"
    var json =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
      as! [String: Any]
    json["eos_token_id"] = [2, 211]
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    let config = try ConfigFile.decode(BartConfig.self, at: path)
    XCTAssertEqual(config.eosTokenId?.first, 2)
    XCTAssertEqual(config.eosTokenIds, [2, 211])
    let written =
      try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
    XCTAssertEqual(written["eos_token_id"] as? [Int], [2, 211])
    var one = config
    one.eosTokenId = 2
    let single = try JSONSerialization.jsonObject(with: JSONEncoder().encode(one)) as! [String: Any]
    XCTAssertEqual(single["eos_token_id"] as? Int, 2)

    let (lm, defaults) = try Generation.loadSeq2SeqLanguageModel(from: model)
    XCTAssertEqual(defaults.eosTokenIds, [2, 211])
    // The file case's settings from flags instead: transformers' ids, ending at eos 211
    // (fixture "list_eos_off" runs past it with eos 2 alone).
    var g = defaults
    (g.maxLength, g.minLength, g.numBeams, g.noRepeatNgramSize) = (12, 5, 3, 2)
    (g.lengthPenalty, g.earlyStopping) = (0.8, .enabled)
    XCTAssertEqual(
      try Generation.generate(lm, inputs: [Self.expected.bart.input_ids], config: g),
      Self.expected.bart.ids("file"))
    XCTAssertEqual(Self.expected.bart.ids("file")[0].last, 211)

    var gpt: [String: Any] = ["model_type": "gpt2", "vocab_size": 97, "eos_token_id": [96, 69]]
    let gptPath = dir + "/gpt2-config.json"
    try JSONSerialization.data(withJSONObject: gpt).write(to: URL(fileURLWithPath: gptPath))
    let gc = try ConfigFile.decode(GPT2Config.self, at: gptPath)
    XCTAssertEqual(gc.eosTokenIds, [96, 69])
    XCTAssertEqual(GenerationConfig(defaultsOf: gc).eosTokenIds, [96, 69])
    gpt["eos_token_id"] = "x"
    try JSONSerialization.data(withJSONObject: gpt).write(to: URL(fileURLWithPath: gptPath))
    XCTAssertThrowsError(try ConfigFile.decode(GPT2Config.self, at: gptPath)) {
      XCTAssertTrue("\($0)".contains("eos_token_id"), "\($0)")
    }
  }
}
