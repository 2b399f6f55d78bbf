import Foundation
import LoomTestSupport
import XCTest

@testable import LoomTokenizers


/// Issue 13: `loom tokenizer` keeps NULs and blank lines, and checks every flag up front.
final class CLIHardeningTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "loom-clih-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  /// Lines with NUL bytes and blank lines: HF's ids, and the text back byte for byte.
  func testNulBytesAndBlankLinesRoundTrip() throws {
    let d = try fixture("encoders/cli_lines.json") as! [String: Any]
    let lines = d["lines"] as! [String]
    let want = (d["ids"] as! [[Int]]).map { $0.map(String.init).joined(separator: " ") }
    let text = Data((lines.joined(separator: "\n") + "\n").utf8)
    XCTAssertTrue(text.contains(0))
    let src = dir + "/in.txt"
    try text.write(to: URL(fileURLWithPath: src))
    let tok = fixturePath("encoders/roberta")
    let enc = try loomData([
      "tokenizer", "encode", "--tokenizer", tok, "--file", src, "--no-special-tokens",
    ])
    XCTAssertEqual(enc.status, 0, enc.err)
    let got = String(decoding: enc.out, as: UTF8.self).split(
      separator: "\n", omittingEmptySubsequences: false
    ).map(String.init)
    XCTAssertEqual(Array(got.dropLast()), want)
    let ids = dir + "/ids.txt"
    try enc.out.write(to: URL(fileURLWithPath: ids))
    let dec = try loomData(["tokenizer", "decode", "--tokenizer", tok, "--file", ids])
    XCTAssertEqual(dec.status, 0, dec.err)
    XCTAssertEqual(dec.out, text, "decode(encode(x)) != x")
  }

  func testBadFlagsAreNamed() throws {
    let corpus = fixturePath("train/c_corpus.txt")
    let out = dir + "/out"
    for (flags, name) in [
      (["--limit-alphabet=-1"], "--limit-alphabet"), (["--vocab-size=-5"], "--vocab-size"),
      (["--min-frequency=-1"], "--min-frequency"), (["--model-type", "bert"], "--model-type"),
      (["--model-type", "roberta", "--special-tokens", "<s>,</s>"], "--special-tokens"),
      (["--model-max-length", "0"], "--model-max-length"),
    ] {
      let r = try loomData(["tokenizer", "train", "--files", corpus, "--output", out] + flags)
      XCTAssertNotEqual(r.status, 0, "\(flags)")
      XCTAssertTrue(r.err.contains(name), "\(flags): \(r.err)")
    }
    let tok = fixturePath("encoders/roberta")
    for (flags, name) in [
      (["--max-length=-1"], "--max-length"), (["--max-length", "8", "--stride=-2"], "--stride"),
      (["--stride", "2"], "--stride"),
    ] {
      let r = try loomData(["tokenizer", "encode", "--tokenizer", tok, "--text", "x"] + flags)
      XCTAssertNotEqual(r.status, 0, "\(flags)")
      XCTAssertTrue(r.err.contains(name), "\(flags): \(r.err)")
    }
    // A stride as large as the window is refused by the tokenizer, with a message.
    let r = try loomData([
      "tokenizer", "encode", "--tokenizer", tok, "--text", "int main(void) { return 0; }",
      "--max-length", "4", "--stride", "4",
    ])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("stride"), r.err)
  }

  /// `tokenizer save` turns slow-tokenizer files into an AutoTokenizer directory.
  func testSaveConvertsVocabFiles() throws {
    let out = dir + "/saved"
    let r = try loomData([
      "tokenizer", "save", "--tokenizer", fixturePath("encoders/roberta"), "--output", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/tokenizer.json"))
    try EncoderTokenizerParityTests.check(
      try Tokenizer.fromPretrained(out), "roberta_encodings.json")
    let bad = try loomData(["tokenizer", "save", "--tokenizer", dir + "/none", "--output", out])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains(dir + "/none"), bad.err)
  }

  /// wolfBERTa's recipe: a RoBERTa-loadable directory whose vocabulary and merges are HF's
  /// and whose encodings match HF's AutoTokenizer on that directory.
  func testTrainRobertaDirectory() throws {
    let out = dir + "/wolfberta-tok"
    let r = try loomData([
      "tokenizer", "train", "--files", fixturePath("encoders/wolfssl_corpus.txt"), "--vocab-size",
      "2000", "--min-frequency", "2", "--special-tokens", "<s>,<pad>,</s>,<unk>,<mask>",
      "--model-type", "roberta", "--output", out, "--quiet",
    ])
    XCTAssertEqual(r.status, 0, r.err)
    for f in ["vocab.json", "merges.txt"] {
      let mine = try Data(contentsOf: URL(fileURLWithPath: out + "/" + f))
      let hf = try Data(contentsOf: URL(fileURLWithPath: fixturePath("encoders/roberta/" + f)))
      XCTAssertTrue(mine == hf, "\(f) differs from HF's")
    }
    let cfg =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/tokenizer_config.json")))
      as! [String: Any]
    XCTAssertEqual(cfg["tokenizer_class"] as? String, "RobertaTokenizer")
    XCTAssertEqual(cfg["mask_token"] as? String, "<mask>")
    let tok = try Tokenizer.fromPretrained(out)
    try EncoderTokenizerParityTests.check(tok, "roberta_encodings.json")
  }
}
