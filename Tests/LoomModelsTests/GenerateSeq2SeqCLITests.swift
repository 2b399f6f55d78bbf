import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTokenizers
import LoomTestSupport
import XCTest

/// `loom generate` on an encoder–decoder model against transformers' `generate` on a tiny
/// random BART with its own byte-level BPE tokenizer
/// (scripts/fixtures/make_bart_generate_cli_fixtures.py), and its bad inputs.
final class GenerateSeq2SeqCLITests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let model = fixtures + "/bart-tiny-text"

  struct Case: Decodable {
    let name: String
    let prompt: String
    let input_ids: [Int]
    let ids: [[Int]]
    let texts: [String]
  }

  static let cases: [String: Case] = {
    let data = FileManager.default.contents(atPath: fixtures + "/bart-tiny-text-generate.json")!
    let list = try! JSONDecoder().decode([Case].self, from: data)
    return Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
  }()

  /// Each fixture case's transformers kwargs as `loom generate` flags.
  static let flags: [String: [String]] = [
    "greedy": ["--max-new-tokens", "12"],
    "beam": [
      "--max-new-tokens", "10", "--num-beams", "3", "--length-penalty", "1.3",
      "--no-repeat-ngram-size", "2", "--num-return-sequences", "2", "--early-stopping",
    ],
    "beam_heuristic": [
      "--max-new-tokens", "9", "--num-beams", "3", "--length-penalty", "0.7",
      "--no-repeat-ngram-size", "2",
    ],
    "max_length": ["--max-length", "6"],
    "mixed": [
      "--max-new-tokens", "10", "--num-beams", "5", "--temperature", "0.7", "--top-k", "50",
      "--top-p", "0.9",
      "--no-repeat-ngram-size", "2",
    ],
    "repetition_min": [
      "--max-new-tokens", "10", "--repetition-penalty", "1.5", "--min-new-tokens", "6",
    ],
  ]

  func generate(_ extra: [String], prompt: String = "to be or not to be") throws -> (
    status: Int32, out: String, err: String
  ) {
    try loom(["generate", "--model", Self.model, "--prompt", prompt] + extra)
  }

  /// What the CLI prints for transformers' texts: one line, or numbered sequences.
  func printed(_ texts: [String]) -> String {
    if texts.count == 1 { return texts[0] + "\n" }
    return texts.enumerated().map { "--- sequence \($0 + 1) ---\n\($1)\n" }.joined()
  }

  func testEveryCaseMatchesTransformersText() throws {
    XCTAssertEqual(Set(Self.cases.keys), Set(Self.flags.keys))
    for (name, c) in Self.cases {
      let r = try generate(Self.flags[name]!, prompt: c.prompt)
      XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
      XCTAssertEqual(r.out, printed(c.texts), name)
    }
    // The forced BOS (0) follows the start token (2); max_length 6 counts both.
    XCTAssertEqual(Self.cases["greedy"]!.ids[0].prefix(2), [2, 0])
    XCTAssertEqual(Self.cases["max_length"]!.ids[0].count, 6)
  }

  /// The ids behind the printed text: the prompt's encoder ids (with <s> … </s>) and the
  /// decoder ids, through what the command runs.
  func testTokenIdsMatchTransformers() throws {
    let (lm, defaults) = try Generation.loadSeq2SeqLanguageModel(from: Self.model)
    XCTAssertEqual(defaults.forcedBosTokenId, 0)
    XCTAssertEqual(defaults.forcedEosTokenId, 2)
    let tok = try Tokenizer.load(nameOrPath: Self.model)
    let settings: [String: (inout GenerationConfig) -> Void] = [
      "greedy": { $0.maxNewTokens = 12 },
      "beam": {
        $0.maxNewTokens = 10
        $0.numBeams = 3
        $0.lengthPenalty = 1.3
        $0.noRepeatNgramSize = 2
        $0.numReturnSequences = 2
        $0.earlyStopping = .enabled
      },
      "beam_heuristic": {
        $0.maxNewTokens = 9
        $0.numBeams = 3
        $0.lengthPenalty = 0.7
        $0.noRepeatNgramSize = 2
      },
      "max_length": { $0.maxLength = 6 },
      "mixed": {
        $0.maxNewTokens = 10
        $0.numBeams = 5
        $0.temperature = 0.7
        $0.topP = 0.9
        $0.noRepeatNgramSize = 2
      },
      "repetition_min": {
        $0.maxNewTokens = 10
        $0.repetitionPenalty = 1.5
        $0.minNewTokens = 6
      },
    ]
    for (name, c) in Self.cases {
      let ids = try tok.encode(c.prompt, addSpecialTokens: true).ids.map(Int.init)
      XCTAssertEqual(ids, c.input_ids, name)
      var g = defaults
      settings[name]!(&g)
      XCTAssertEqual(try Generation.generate(lm, inputs: [ids], config: g), c.ids, name)
    }
  }

  func testSamplingIsSeededAndStreamingPrintsTheGreedyText() throws {
    let sample = [
      "--do-sample", "--seed", "3", "--temperature", "0.7", "--top-k", "50", "--top-p", "0.9",
      "--max-new-tokens", "8", "--num-return-sequences", "2",
    ]
    let a = try generate(sample)
    let b = try generate(sample)
    XCTAssertEqual(a.status, 0, a.err)
    XCTAssertEqual(a.out, b.out)
    XCTAssertTrue(a.out.hasPrefix("--- sequence 1 ---\n"), a.out)
    XCTAssertTrue(a.out.contains("--- sequence 2 ---\n"), a.out)
    let s = try generate(["--max-new-tokens", "12", "--stream"])
    XCTAssertEqual(s.status, 0, s.err)
    XCTAssertEqual(s.out, printed(Self.cases["greedy"]!.texts))
  }

  func testBadInputsAreClearErrors() throws {
    let long = try generate(
      ["--max-new-tokens", "4"], prompt: String(repeating: "to be or not ", count: 12))
    XCTAssertNotEqual(long.status, 0)
    XCTAssertTrue(
      long.err.contains(
        "tokens with the tokenizer's special tokens, more than the model's max_position_embeddings (32): shorten it"
      ),
      long.err)
    let empty = try generate([], prompt: "")
    XCTAssertNotEqual(empty.status, 0)
    XCTAssertTrue(empty.err.contains("--prompt must not be empty"), empty.err)
    let many = try generate(["--max-new-tokens", "40"])
    XCTAssertNotEqual(many.status, 0)
    XCTAssertTrue(
      many.err.contains(
        "1 decoder start token + --max-new-tokens 40 = 41 decoder tokens exceed the model's max_position_embeddings (32); lower --max-new-tokens"
      ),
      many.err)
    let total = try generate(["--max-length", "33"])
    XCTAssertTrue(total.err.contains("--max-length 33 decoder tokens exceed"), total.err)
    let slide = try generate(["--sliding-window"])
    XCTAssertTrue(slide.err.contains("--sliding-window is for causal models"), slide.err)
    XCTAssertEqual(many.out + total.out + slide.out, "")
    // A model type with neither a causal nor a seq2seq head.
    let dir = NSTemporaryDirectory() + "loom-s2s-cli-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try #"{"model_type": "distilbert"}"#.write(
      toFile: dir + "/config.json", atomically: true, encoding: .utf8)
    let r = try loom(["generate", "--model", dir, "--prompt", "hello"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(
      r.err.contains(
        "model_type 'distilbert' is not supported for text generation (supported: bloom, gpt2, llama) nor for text-to-text generation (supported: bart, switch_transformers, t5, transformer)"
      ),
      r.err)
  }
}
