import XCTest

@testable import LoomTokenizers

/// The scratch GPT's character tokenizer against the Python recipe's output.
final class CharTokenizerTests: XCTestCase {
  func testMatchesPythonRecipe() throws {
    let d = try fixture("char_level.json") as! [String: Any]
    let corpus = try String(contentsOfFile: fixturePath("train/prose_corpus.txt"), encoding: .utf8)
    let tok = CharTokenizer(corpus: corpus)
    XCTAssertEqual(String(String.UnicodeScalarView(tok.chars)), d["chars"] as! String)
    let texts = d["texts"] as! [String]
    let ids = d["ids"] as! [[Int]]
    XCTAssertFalse(texts.isEmpty)
    for (t, want) in zip(texts, ids) {
      XCTAssertEqual(try tok.encode(t), want)
      XCTAssertEqual(tok.decode(want), t)
    }
    XCTAssertThrowsError(try tok.encode("日本"))
  }
}
