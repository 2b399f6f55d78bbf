import XCTest

@testable import LoomTokenizers

/// A byte-level BPE trained by HF on wolfSSL C, with `BertProcessing(("</s>",2),("<s>",0))`
/// as the seeds set it up, against HF's encodings.
final class TrainedBPEParityTests: XCTestCase {
  func tokenizer() throws -> Tokenizer {
    let t = try Tokenizer.byteLevelBPE(
      vocab: fixturePath("train/c_20000/vocab.json"),
      merges: fixturePath("train/c_20000/merges.txt"))
    t.postProcessor = .bert(sep: ("</s>", 2), cls: ("<s>", 0))
    return t
  }

  func testEncodingsMatchHF() throws {
    try checkEncodingCases(
      try tokenizer(), fixtureName: "trained_c_encodings.json", padToken: "<pad>")
  }

  func testTokenizerJSONLoadMatches() throws {
    let t = try Tokenizer.load(tokenizerJSON: fixturePath("train/c_20000_tokenizer.json"))
    let u = try tokenizer()
    for s in try FixtureStrings().texts { XCTAssertEqual(try t.encode(s), try u.encode(s)) }
  }

  func testRoundTrip() throws {
    let t = try tokenizer()
    for s in try FixtureStrings().texts {
      XCTAssertEqual(t.decode(try t.encode(s, addSpecialTokens: false).ids), s)
    }
  }
}
