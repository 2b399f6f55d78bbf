import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTokenizers
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
      let r = try runLoom(["generate", "--model", Self.model, "--prompt", c.prompt] + Self.flags[c.name]!)
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
}
