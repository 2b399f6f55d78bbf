import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTokenizers
import LoomTestSupport
import XCTest

/// `loom generate` on a T5 directory (a tiny random T5 with its own Unigram tokenizer and
/// <extra_id_N> sentinels, scripts/fixtures/make_t5_fixtures.py) against transformers' `generate`.
final class GenerateT5CLITests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let model = fixtures + "/t5-tiny-text"

  struct Case: Decodable {
    let name: String
    let prompt: String
    let input_ids: [Int]
    let ids: [[Int]]
    let texts: [String]
  }

  static let cases: [Case] = {
    let data = FileManager.default.contents(atPath: fixtures + "/t5-tiny-text-generate.json")!
    return try! JSONDecoder().decode([Case].self, from: data)
  }()

  /// Each fixture case's transformers kwargs as `loom generate` flags.
  static let flags: [String: [String]] = [
    "greedy": ["--max-new-tokens", "12"],
    "beam": [
      "--max-new-tokens", "10", "--num-beams", "5", "--no-repeat-ngram-size", "2",
      "--length-penalty", "1.2",
    ],
    "mixed": [
      "--max-new-tokens", "10", "--num-beams", "5", "--temperature", "0.7", "--top-k", "50",
      "--top-p", "0.9", "--no-repeat-ngram-size", "2",
    ],
    "max_length": ["--max-length", "6"],
  ]

  func testEveryCaseMatchesTransformersTextAndIds() throws {
    XCTAssertEqual(Set(Self.cases.map(\.name)), Set(Self.flags.keys))
    let (lm, defaults) = try Generation.loadSeq2SeqLanguageModel(from: Self.model)
    XCTAssertTrue(lm is T5ForConditionalGeneration)
    XCTAssertEqual(lm.decoderStartTokenId, 0)
    XCTAssertEqual(defaults.eosTokenIds, [1])
    let tok = try Tokenizer.load(nameOrPath: Self.model)
    for c in Self.cases {
      // The sentinels are single special tokens; </s> closes the encoder input.
      XCTAssertEqual(try tok.encode(c.prompt, addSpecialTokens: true).ids.map(Int.init), c.input_ids, c.name)
      let r = try loom(["generate", "--model", Self.model, "--prompt", c.prompt] + Self.flags[c.name]!)
      XCTAssertEqual(r.status, 0, "\(c.name): \(r.err)")
      XCTAssertEqual(r.out, c.texts[0] + "\n", c.name)
      XCTAssertEqual(c.ids[0].first, 0, "T5's decoder starts from the pad token")
    }
    XCTAssertEqual(Self.cases.first { $0.name == "max_length" }!.ids[0].count, 6)
    XCTAssertTrue(Self.cases[0].input_ids.contains(72), "<extra_id_0> is the highest id, as in T5")
  }

  func testTokenIdsMatchTransformers() throws {
    let (lm, defaults) = try Generation.loadSeq2SeqLanguageModel(from: Self.model)
    let settings: [String: (inout GenerationConfig) -> Void] = [
      "greedy": { $0.maxNewTokens = 12 },
      "beam": {
        $0.maxNewTokens = 10
        $0.numBeams = 5
        $0.noRepeatNgramSize = 2
        $0.lengthPenalty = 1.2
      },
      "mixed": {
        $0.maxNewTokens = 10
        $0.numBeams = 5
        $0.temperature = 0.7
        $0.topP = 0.9
        $0.noRepeatNgramSize = 2
      },
      "max_length": { $0.maxLength = 6 },
    ]
    for c in Self.cases {
      var g = defaults
      settings[c.name]!(&g)
      XCTAssertEqual(try Generation.generate(lm, inputs: [c.input_ids], config: g), c.ids, c.name)
    }
  }

  /// generation_config.json gives the defaults (HF's model generation config) and the flags
  /// override them: eos as a list, decoder_start_token_id, beam settings; a bad value names the key.
  func testGenerationConfigFileGivesDefaultsUnderTheFlags() throws {
    let dir = NSTemporaryDirectory() + "t5-genconfig-\(UUID().uuidString)"
    try FileManager.default.copyItem(atPath: Self.model, toPath: dir)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    func write(_ json: String) throws {
      try json.write(toFile: dir + "/generation_config.json", atomically: true, encoding: .utf8)
    }
    let beam = Self.cases.first { $0.name == "beam" }!
    let greedy = Self.cases.first { $0.name == "greedy" }!
    try write(
      #"{"decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0, "num_beams": 5, "no_repeat_ngram_size": 2, "length_penalty": 1.2, "max_new_tokens": 10}"#
    )
    let fromFile = try loom(["generate", "--model", dir, "--prompt", beam.prompt])
    XCTAssertEqual(fromFile.status, 0, fromFile.err)
    XCTAssertEqual(fromFile.out, beam.texts[0] + "\n", "the file's beam settings")
    let flags = try loom([
      "generate", "--model", dir, "--prompt", greedy.prompt, "--num-beams", "1",
      "--no-repeat-ngram-size", "0", "--length-penalty", "1", "--max-new-tokens", "12",
    ])
    XCTAssertEqual(flags.out, greedy.texts[0] + "\n", "flags over the file")
    // transformers: generate(max_new_tokens=12, eos_token_id=[1, 39]) → [0, 36, 36, 36, 39], "s s str".
    try write(#"{"eos_token_id": [1, 39], "max_new_tokens": 12}"#)
    let eosList = try loom(["generate", "--model", dir, "--prompt", greedy.prompt])
    XCTAssertEqual(eosList.out, "s s str\n", eosList.err)
    let file = try XCTUnwrap(try GenerationConfigFile.load(directory: dir))
    XCTAssertEqual(file.config.eosTokenIds, [1, 39])
    // transformers: generate(max_new_tokens=3, decoder_start_token_id=5) → [5, 65, 39, 39].
    let (lm, defaults) = try Generation.loadSeq2SeqLanguageModel(from: Self.model)
    var g = defaults
    g.maxNewTokens = 3
    g.decoderStartTokenId = 5
    XCTAssertEqual(try Generation.generate(lm, inputs: [greedy.input_ids], config: g), [[5, 65, 39, 39]])
    try write(#"{"num_beams": "five"}"#)
    let bad = try loom(["generate", "--model", dir, "--prompt", greedy.prompt])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("generation_config.json: field 'num_beams' must be an integer"), bad.err)
    try write(#"{"eos_token_id": "x"}"#)
    let badEos = try loom(["generate", "--model", dir, "--prompt", greedy.prompt])
    XCTAssertTrue(badEos.err.contains("field 'eos_token_id': must be an integer or a list of integers"), badEos.err)
  }
}
