import Foundation
import XCTest

@testable import LoomTokenizers

/// A raw U+FEFF inside a vocabulary file is a character like any other (HF keeps it);
/// Foundation's JSON parser alone would drop it where it starts a string.
final class ByteOrderMarkTests: XCTestCase {
  var dir = ""
  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "loom-bom-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func write(_ text: String, _ name: String) throws -> String {
    let path = dir + "/" + name
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  func testVocabJSONKeepsRawByteOrderMarks() throws {
    let path = try write("{\"\u{FEFF}\": 0, \"\u{FEFF}x\": 1, \"x\u{FEFF}\": 2, \"x\": 3}", "vocab.json")
    let vocab = try VocabFiles.readVocab(path)
    XCTAssertEqual(vocab, ["\u{FEFF}": 0, "\u{FEFF}x": 1, "x\u{FEFF}": 2, "x": 3])
  }

  func testTokenizerJSONKeepsRawByteOrderMarks() throws {
    let json = """
      {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
       "pre_tokenizer": null, "post_processor": null, "decoder": null,
       "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false,
                 "vocab": [["<unk>", 0.0], ["\u{FEFF}", -1.0], ["\u{FEFF}a", -2.0], ["a", -3.0]]}}
      """
    let tok = try Tokenizer.load(tokenizerJSON: try write(json, "tokenizer.json"))
    XCTAssertEqual(tok.tokenToId("\u{FEFF}"), 1)
    XCTAssertEqual(tok.tokenToId("\u{FEFF}a"), 2)
    XCTAssertEqual(tok.tokenToId("a"), 3)
    XCTAssertEqual(try tok.encode("\u{FEFF}aa\u{FEFF}", addSpecialTokens: false).ids, [2, 3, 1])
  }

  /// An escaped backslash before the character is still a raw U+FEFF; an odd run of backslashes
  /// makes invalid JSON, which stays an error.
  func testEscapingLeavesOtherBytesAlone() throws {
    let data = Data("[\"\\\\\u{FEFF}\", \"\u{FEFF}\"]".utf8)
    let parsed = try XCTUnwrap(try VocabFiles.parseJSON(data, file: "t.json") as? [String])
    XCTAssertEqual(parsed, ["\\\u{FEFF}", "\u{FEFF}"])
    XCTAssertThrowsError(try VocabFiles.parseJSON(Data("[\"\\\u{FEFF}\"]".utf8), file: "t.json"))
    let plain = Data("{\"a\": 1}".utf8)
    XCTAssertEqual(VocabFiles.escapingByteOrderMarks(plain), plain)
  }
}
