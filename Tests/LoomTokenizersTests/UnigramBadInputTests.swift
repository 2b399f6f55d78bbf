import Foundation
import XCTest

@testable import LoomTokenizers

/// Issue 15: malformed Unigram tokenizer.json files throw errors naming the file and the field.
final class UnigramBadInputTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "loom-unigram-bad-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  /// Loads a tokenizer.json with `model`, `normalizer`, `pre` and `decoder` spliced in; returns
  /// the error message ("" when it loads).
  func load(
    model: String = #"{"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.5]]}"#,
    normalizer: String = "null", pre: String = "null", decoder: String = "null"
  ) -> String {
    let p = dir + "/tokenizer.json"
    try! """
    {"version": "1.0", "added_tokens": [], "normalizer": \(normalizer), "pre_tokenizer": \(pre),
     "post_processor": null, "decoder": \(decoder), "model": \(model)}
    """.write(toFile: p, atomically: true, encoding: .utf8)
    do {
      _ = try Tokenizer.load(tokenizerJSON: p)
      return ""
    } catch { return "\(error)" }
  }

  func assertError(
    _ m: String, _ parts: String..., file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertTrue(m.contains(dir), "no file in: \(m)", file: file, line: line)
    for p in parts { XCTAssertTrue(m.contains(p), "\"\(p)\" not in: \(m)", file: file, line: line) }
  }

  func testWellFormedLoads() { XCTAssertEqual(load(), "") }

  func testMissingScore() {
    assertError(
      load(model: #"{"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a"]]}"#),
      "model.vocab[1]", "[piece, score]")
  }

  func testScoreNotANumber() {
    assertError(
      load(model: #"{"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", "x"]]}"#),
      "model.vocab[1][1]", "score of \"a\"")
  }

  func testPieceNotAString() {
    assertError(
      load(model: #"{"type": "Unigram", "vocab": [[3, 0.0]]}"#), "model.vocab[0]", "[piece, score]")
  }

  func testUnkIdOutOfRange() {
    assertError(
      load(model: #"{"type": "Unigram", "unk_id": 2, "vocab": [["<unk>", 0.0], ["a", -1.5]]}"#),
      "model.unk_id", "2 is out of range", "2 pieces")
  }

  func testUnkIdNegativeOrHuge() {
    assertError(
      load(model: #"{"type": "Unigram", "unk_id": -1, "vocab": [["<unk>", 0.0]]}"#),
      "model.unk_id", "integer")
    assertError(
      load(model: #"{"type": "Unigram", "unk_id": 1e300, "vocab": [["<unk>", 0.0]]}"#),
      "model.unk_id", "integer")
  }

  func testEmptyVocabWithUnk() {
    assertError(
      load(model: #"{"type": "Unigram", "unk_id": 0, "vocab": []}"#), "model.vocab", "empty")
  }

  /// HF loads it, encodes "" to nothing and fails on any text (no unk_id to fall back on).
  func testEmptyVocabWithoutUnkLoadsAndRejectsText() throws {
    XCTAssertEqual(load(model: #"{"type": "Unigram", "unk_id": null, "vocab": []}"#), "")
    let t = Tokenizer(model: .unigram(try Unigram(pieces: [], unkId: nil)))
    XCTAssertEqual(try t.encode("").ids, [])
    XCTAssertThrowsError(try t.encode("abc"))
    XCTAssertEqual(t.encodeIds("abc"), [])
  }

  func testVocabNotAnArray() {
    assertError(
      load(model: #"{"type": "Unigram", "unk_id": 0, "vocab": {"<unk>": 0}}"#), "model.vocab",
      "array of [piece, score]")
  }

  func testBadPrecompiledCharsmap() {
    let n = { (s: String) in #"{"type": "Precompiled", "precompiled_charsmap": "\#(s)"}"# }
    assertError(load(normalizer: n("%%%")), "normalizer.precompiled_charsmap", "base64")
    // Header claims a 4096-byte trie; 4 bytes follow.
    assertError(load(normalizer: n("ABAAAAECAwQ=")), "normalizer.precompiled_charsmap", "truncated")
    assertError(load(normalizer: n("AA==")), "normalizer.precompiled_charsmap", "truncated")
    assertError(
      load(normalizer: #"{"type": "Precompiled", "precompiled_charsmap": null}"#),
      "normalizer.precompiled_charsmap")
  }

  /// A charsmap whose trie points anywhere never traps: lookups out of the array are misses.
  func testHostileCharsmapNeverTraps() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<200 {
      let units = Int.random(in: 0..<64, using: &rng)
      var b = [UInt8]()
      let size = UInt32(units * 4)
      b += [UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), 0, 0]
      for _ in 0..<(units * 4) { b.append(UInt8.random(in: 0...255, using: &rng)) }
      b += Array("ab\0c\0".utf8)
      let m = try PrecompiledCharsmap(b)
      var nt = NormalizedText("héllo wörld 🤗 ﬁ".utf8[...], base: 0)
      Normalizer.precompiled(m).apply(&nt)
      XCTAssertEqual(nt.starts.count, nt.bytes.count)
    }
  }

  func testMetaspaceFields() {
    assertError(
      load(pre: #"{"type": "Metaspace", "replacement": "__", "prepend_scheme": "always"}"#),
      "pre_tokenizer.replacement", "single character")
    assertError(
      load(pre: #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}"#),
      "pre_tokenizer.prepend_scheme")
    assertError(
      load(decoder: #"{"type": "Strip", "content": " ", "start": -1, "stop": 0}"#),
      "decoder.start")
  }
  /// HF tokenizers fails with "Encountered an unknown token but `unk_id` is missing"; Loom's
  /// `encode` throws too (it dropped the span before), and the ids-only fast path drops it.
  func testUnknownCharacterWithoutUnkIdThrows() throws {
    let p = dir + "/tokenizer.json"
    try """
    {"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null,
     "post_processor": null, "decoder": null,
     "model": {"type": "Unigram", "vocab": [["a", -1.5], ["b", -2.0]]}}
    """.write(toFile: p, atomically: true, encoding: .utf8)
    let tok = try Tokenizer.load(tokenizerJSON: p)
    XCTAssertEqual(try tok.encode("ab").ids, [0, 1])
    XCTAssertThrowsError(try tok.encode("axb")) { error in
      let m = "\(error)"
      XCTAssertTrue(m.contains("unk_id") && m.contains("\"x\""), m)
    }
    XCTAssertEqual(tok.encodeIds("axb"), [0, 1])
    // The failure leaves the tokenizer usable.
    XCTAssertEqual(try tok.encode("ba").ids, [1, 0])
  }
}
