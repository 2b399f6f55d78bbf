import XCTest

@testable import LoomTokenizers

/// GPT-2 from the package-shipped encoder.json + vocab.bpe against HF `GPT2TokenizerFast`.
final class GPT2ParityTests: XCTestCase {
  func gpt2() throws -> Tokenizer {
    try Tokenizer.gpt2(encoder: requireAsset("gpt2/encoder.json"), merges: requireAsset("gpt2/vocab.bpe"))
  }

  func testEncodingsMatchHF() throws {
    try checkEncodingCases(try gpt2(), fixtureName: "gpt2_encodings.json", padToken: "<pad>")
  }

  func testRoundTrip() throws {
    let tok = try gpt2()
    for t in try FixtureStrings().texts { XCTAssertEqual(tok.decode(tok.encodeIds(t)), t) }
  }

  func testTokensMatchHF() throws {
    let tok = try gpt2()
    let d = try fixture("gpt2_encodings.json") as! [String: Any]
    let toks = d["tokens"] as! [[String]]
    let texts = try FixtureStrings().texts
    for (i, want) in toks.enumerated() { XCTAssertEqual(try tok.encode(texts[i]).tokens, want) }
  }
}

extension GPT2ParityTests {
  /// The ids-only fast path agrees with the full pipeline.
  func testFastPathMatchesFullEncode() throws {
    let tok = try gpt2()
    for t in try FixtureStrings().texts + ["<|endoftext|>a<|endoftext|> b"] {
      XCTAssertEqual(tok.encodeIds(t), try tok.encode(t).ids, t)
    }
  }
}
