import Foundation
import XCTest

@testable import LoomTokenizers

/// Issue 13: hostile tokenizer files throw errors naming the file and the place, never trap,
/// and never allocate by a number read from the file.
final class TokenizerFileHardeningTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "loom-hard-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func write(_ name: String, _ text: String) -> String {
    let p = dir + "/" + name
    try! text.write(toFile: p, atomically: true, encoding: .utf8)
    return p
  }

  func message(_ body: () throws -> Void) -> String {
    do {
      try body()
      return ""
    } catch { return "\(error)" }
  }

  /// A small BPE tokenizer.json with `vocab`, `added` and `post` spliced in.
  func tokenizerJSON(
    vocab: String = #"{"a": 0, "b": 1, "ab": 2, "<s>": 3}"#, added: String = "[]",
    post: String = "null"
  ) -> String {
    write(
      "tokenizer.json",
      """
      {"version": "1.0", "added_tokens": \(added), "normalizer": null, "pre_tokenizer": null,
       "post_processor": \(post), "decoder": null,
       "model": {"type": "BPE", "vocab": \(vocab), "merges": ["a b"]}}
      """)
  }

  /// Resident memory in bytes (Linux).
  func rss() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
      let pages = s.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
  }

  func testVocabIdAbove32BitsThrows() {
    let p = tokenizerJSON(vocab: #"{"a": 0, "b": 1, "ab": 4294967296}"#)
    let m = message { _ = try Tokenizer.load(tokenizerJSON: p) }
    XCTAssertTrue(m.contains(p) && m.contains("model.vocab[\"ab\"]") && m.contains("integer"), m)
  }

  func testVocabIdAllOnesThrowsInVocabJSON() {
    let v = write("vocab.json", #"{"a": 0, "b": 1, "ab": 4294967295}"#)
    let mt = write("merges.txt", "#version: 0.2\na b\n")
    let m = message { _ = try VocabFiles.bpe(vocab: v, merges: mt) }
    XCTAssertTrue(m.contains(v) && m.contains("\"ab\""), m)
    let t = tokenizerJSON(vocab: #"{"a": 0, "b": 1, "ab": 4294967295}"#)
    XCTAssertTrue(message { _ = try Tokenizer.load(tokenizerJSON: t) }.contains("model.vocab"))
  }

  func testNegativeAddedTokenIdThrows() {
    let p = tokenizerJSON(added: #"[{"id": -1, "content": "<s>", "special": true}]"#)
    let m = message { _ = try Tokenizer.load(tokenizerJSON: p) }
    XCTAssertTrue(m.contains(p) && m.contains("added_tokens[0].id"), m)
  }

  func testTemplateTokensNotAListThrows() {
    let post = """
      {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
       {"Sequence": {"id": "A", "type_id": 0}}], "pair": [],
       "special_tokens": {"<s>": {"id": "<s>", "ids": [3], "tokens": true}}}
      """
    let p = tokenizerJSON(post: post)
    let m = message { _ = try Tokenizer.load(tokenizerJSON: p) }
    XCTAssertTrue(m.contains("post_processor.special_tokens.<s>.tokens"), m)
    let mismatched = tokenizerJSON(
      post: post.replacingOccurrences(of: "\"tokens\": true", with: "\"tokens\": []"))
    let m2 = message { _ = try Tokenizer.load(tokenizerJSON: mismatched) }
    XCTAssertTrue(m2.contains("1 ids but 0 tokens"), m2)
  }

  /// HF accepts id 2^31−1; Loom loads it without a table sized by the id.
  func testHugeSparseIdLoadsWithoutHugeAllocation() throws {
    let before = rss()
    let p = tokenizerJSON(vocab: #"{"a": 0, "b": 1, "ab": 2, "far": 2147483647}"#)
    let t = try Tokenizer.load(tokenizerJSON: p)
    XCTAssertEqual(t.idToToken(2_147_483_647), "far")
    XCTAssertEqual(t.idToToken(2), "ab")
    XCTAssertNil(t.idToToken(1_000_000))
    XCTAssertEqual(t.encodeIds("ab"), [2])
    XCTAssertEqual(t.decode([2, 2_147_483_647]), "ab far")
    let v = write("vocab.json", #"{"a": 0, "b": 1, "ab": 2, "far": 2147483647}"#)
    let mt = write("merges.txt", "#version: 0.2\na b\n")
    let b = try VocabFiles.bpe(vocab: v, merges: mt)
    XCTAssertEqual(b.token(of: 2_147_483_647), "far")
    XCTAssertLessThan(rss() - before, 200 << 20, "loading allocated by the id")
    // Saved back with the ids as read (no filler tokens for the hole).
    let saved = t.jsonString()
    XCTAssertTrue(saved.contains("\"far\": 2147483647"))
    XCTAssertFalse(saved.contains("\"\": "))
  }

  func testBadTruncationAndPaddingFieldsThrow() throws {
    let base = try String(contentsOfFile: tokenizerJSON(), encoding: .utf8)
    for (field, json) in [
      ("truncation.max_length", #""truncation": {"max_length": -3, "stride": 0},"#),
      ("truncation.stride", #""truncation": {"max_length": 8, "stride": 1e300},"#),
      ("padding.pad_id", #""padding": {"pad_id": -1},"#),
      ("padding.strategy.Fixed", #""padding": {"strategy": {"Fixed": 1099511627776}},"#),
    ] {
      let p = write(
        "t.json",
        base.replacingOccurrences(of: #""added_tokens""#, with: json + #" "added_tokens""#))
      let m = message { _ = try Tokenizer.load(tokenizerJSON: p) }
      XCTAssertTrue(m.contains(field), "\(field): \(m)")
    }
  }

  func testConfigFilesNameKeyAndFile() throws {
    let r = fixturePath("encoders/roberta")
    for (bad, key) in [
      (#"{"model_max_length": -5}"#, "model_max_length"), (#"{"mask_token": 7}"#, "mask_token"),
      (#"{"do_lower_case": "yes"}"#, "do_lower_case"), (#"[1, 2]"#, "top level"),
      (#"{"additional_special_tokens": [1]}"#, "additional_special_tokens[0]"),
    ] {
      let d = dir + "/cfg-\(key.count)-\(bad.count)"
      try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
      for f in ["vocab.json", "merges.txt"] {
        try FileManager.default.copyItem(atPath: r + "/" + f, toPath: d + "/" + f)
      }
      try bad.write(toFile: d + "/tokenizer_config.json", atomically: true, encoding: .utf8)
      let m = message { _ = try Tokenizer.fromPretrained(d) }
      XCTAssertTrue(m.contains("tokenizer_config.json") && m.contains(key), "\(bad): \(m)")
    }
    let d = dir + "/map"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    for f in ["vocab.json", "merges.txt"] {
      try FileManager.default.copyItem(atPath: r + "/" + f, toPath: d + "/" + f)
    }
    try #"{"pad_token": {"lstrip": false}}"#.write(
      toFile: d + "/special_tokens_map.json", atomically: true, encoding: .utf8)
    let m = message { _ = try Tokenizer.fromPretrained(d) }
    XCTAssertTrue(m.contains("special_tokens_map.json") && m.contains("pad_token"), m)
  }

  /// Token dataset index files: offsets checked before any read through them.
  func testTokenFileIndexChecked() throws {
    let tokens = dir + "/tokens.bin"
    try Data(repeating: 1, count: 8).write(to: URL(fileURLWithPath: tokens))  // 4 uint16 tokens
    func index(_ xs: [UInt64]) -> String {
      let p = dir + "/index-\(xs.count)-\(xs.last ?? 0).bin"
      var d = Data()
      for x in xs { withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) } }
      try! d.write(to: URL(fileURLWithPath: p))
      return p
    }
    let ok = try TokenFile(tokenPath: tokens, indexPath: index([0, 1, 4]), bytesPerToken: 2)
    XCTAssertEqual(ok.sequence(1), [257, 257, 257])
    for (xs, place) in [
      ([0, 3, 2, 4], "offset 2"), ([1, 4], "offset 0"), ([0, UInt64.max], "offset 1"),
      ([0, 5], "last offset"),
    ] {
      let p = index(xs)
      let m = message { _ = try TokenFile(tokenPath: tokens, indexPath: p, bytesPerToken: 2) }
      XCTAssertTrue(m.contains(p) && m.contains(place), "\(xs): \(m)")
    }
    let odd = dir + "/odd.bin"
    try Data(repeating: 0, count: 7).write(to: URL(fileURLWithPath: odd))
    XCTAssertTrue(
      message { _ = try TokenFile(tokenPath: tokens, indexPath: odd, bytesPerToken: 2) }.contains(
        "8-byte"))
  }

  /// Repeated lines and trailing spaces in vocab.txt read as HF reads them (last id wins,
  /// trailing whitespace trimmed): HF gives [2, 7, 8, 3] for "ab c" here.
  func testVocabTxtDuplicatesAsHF() throws {
    let d = dir + "/dup"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    try "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nab\nc\nab\nc  \n".write(
      toFile: d + "/vocab.txt", atomically: true, encoding: .utf8)
    try #"{"tokenizer_class": "BertTokenizer"}"#.write(
      toFile: d + "/tokenizer_config.json", atomically: true, encoding: .utf8)
    let t = try Tokenizer.fromPretrained(d)
    XCTAssertEqual(try t("ab c")[0].ids, [2, 7, 8, 3])
    XCTAssertEqual(t.vocabSize, 7)
    XCTAssertNil(t.idToToken(5))
  }

  /// Tokens added after the largest id a file may name are skipped, not overflowed.
  func testAddedTokensPastTheLargestId() throws {
    let d = dir + "/top"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    let p = tokenizerJSON(added: #"[{"id": 4294967294, "content": "<top>", "special": true}]"#)
    try FileManager.default.moveItem(atPath: p, toPath: d + "/tokenizer.json")
    try #"{"mask_token": "<m1>", "pad_token": "<m2>"}"#.write(
      toFile: d + "/tokenizer_config.json", atomically: true, encoding: .utf8)
    let t = try Tokenizer.fromPretrained(d)
    XCTAssertEqual(t.tokenToId("<top>"), 4_294_967_294)
    XCTAssertNil(t.maskTokenId)
    XCTAssertEqual(try t("ab<top>")[0].ids, [2, 4_294_967_294])
  }

  func testTrainerRejectsNegativeSettings() {
    let corpus = write("c.txt", "int main(void) { return 0; }\n")
    for (t, name) in [
      (BPETrainer(vocabSize: -5, showProgress: false), "vocab_size"),
      (BPETrainer(minFrequency: -1, showProgress: false), "min_frequency"),
      (
        {
          var x = BPETrainer(showProgress: false)
          x.limitAlphabet = -1
          return x
        }(), "limit_alphabet"
      ),
    ] {
      let m = message { _ = try t.train(files: [corpus]) }
      XCTAssertTrue(m.contains(name), m)
    }
  }
}
