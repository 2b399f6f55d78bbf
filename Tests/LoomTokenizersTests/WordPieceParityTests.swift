import XCTest

@testable import LoomTokenizers

/// MiniLM's WordPiece tokenizer.json against HF `BertTokenizerFast`.
final class WordPieceParityTests: XCTestCase {
  func minilm() throws -> Tokenizer {
    let t = try Tokenizer.load(tokenizerJSON: requireAsset("minilm/tokenizer.json"))
    // The shipped file pads/truncates to 128; the fixtures were made with both off.
    t.padding = nil
    t.truncation = nil
    return t
  }

  func testEncodingsMatchHF() throws {
    try checkEncodingCases(try minilm(), fixtureName: "minilm_encodings.json", padToken: "[PAD]")
  }

  func testTokensMatchHF() throws {
    let tok = try minilm()
    let d = try fixture("minilm_encodings.json") as! [String: Any]
    let texts = try FixtureStrings().texts
    for (i, want) in (d["tokens"] as! [[String]]).enumerated() {
      XCTAssertEqual(try tok.encode(texts[i]).tokens, want, "#\(i)")
    }
  }

  func testVocabTxtDirectoryMatchesTokenizerJSON() throws {
    let dir = (try requireAsset("minilm/vocab.txt") as NSString).deletingLastPathComponent
    let a = try minilm()
    let tmp = NSTemporaryDirectory() + "loom-vt-\(getpid())"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    try FileManager.default.copyItem(atPath: dir + "/vocab.txt", toPath: tmp + "/vocab.txt")
    let b = try Tokenizer.load(path: tmp)
    for t in try FixtureStrings().texts.prefix(100) {
      XCTAssertEqual(try a.encode(t).ids, try b.encode(t).ids, t)
    }
  }
}

extension WordPieceParityTests {
  /// Text that normalizes to nothing (a lone combining mark, controls) gives no tokens, as in HF.
  func testTextNormalizedAway() throws {
    let tok = try minilm()
    for t in ["\u{5C1}", "\u{301}\u{32D}", "\u{0}\u{FFFD}", "\u{7}"] {
      XCTAssertEqual(try tok.encode(t).tokens, ["[CLS]", "[SEP]"], t.debugDescription)
    }
  }
}
