import Foundation
import XCTest

@testable import LoomTokenizers

/// Bad input gives errors naming the file and the place; invalid UTF-8 goes through as bytes.
final class BadInputTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "loom-bad-\(getpid())-\(UUID().uuidString)"
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

  func trainer() -> BPETrainer {
    var t = BPETrainer(vocabSize: 400, minFrequency: 2, specialTokens: ["<s>", "</s>"])
    t.showProgress = false
    return t
  }

  func testInvalidUTF8CorpusTrainsAndRoundTrips() throws {
    var bytes = Array("int main(void) { return 0; }\n".utf8)
    bytes += [0x63, 0x61, 0x66, 0xE9, 0x0A]  // Latin-1 "café"
    bytes += Array("/* fine line */\n".utf8)
    bytes += [0xFF, 0xFE, 0x41, 0x0A, 0xC3, 0x0A]  // stray bytes, truncated sequence
    bytes += Array("int main(void) { return 1; }\n".utf8)
    let p = dir + "/bad.c"
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    let r = try trainer().train(files: [p])
    XCTAssertEqual(r.invalidUTF8Lines, 3)
    let tok = try r.tokenizer()
    var ids = [UInt32]()
    bytes.withUnsafeBufferPointer { tok.encodeIds(bytes: $0, into: &ids) }
    XCTAssertEqual(tok.decodeBytes(ids), bytes, "byte-level BPE must be lossless on invalid UTF-8")
  }

  func testEmptyCorpus() {
    let p = write("empty.txt", "")
    let m = message { _ = try trainer().train(files: [p]) }
    XCTAssertTrue(m.contains("empty corpus") && m.contains("empty.txt"), m)
  }

  func testMissingFile() {
    let m = message { _ = try trainer().train(files: [dir + "/nope.txt"]) }
    XCTAssertTrue(m.contains("no such file") && m.contains("nope.txt"), m)
    let m2 = message { _ = try Tokenizer.load(path: dir + "/none.json") }
    XCTAssertTrue(m2.contains("none.json"), m2)
  }

  func testMalformedTokenizerJSON() {
    let p = write(
      "tokenizer.json",
      "{\n  \"model\": {\n    \"type\": \"BPE\",\n    \"vocab\": {\"a\": 0,,}\n  }\n}")
    let m = message { _ = try Tokenizer.load(tokenizerJSON: p) }
    XCTAssertTrue(
      m.contains("tokenizer.json") && m.contains("line 4") && m.contains("malformed JSON"), m)
  }

  func testUnknownModelType() {
    // Unigram is supported since issue 15; WordLevel is not (the message lists Unigram).
    let p = write("t.json", #"{"model": {"type": "WordLevel", "vocab": {}}}"#)
    let m = message { _ = try Tokenizer.load(tokenizerJSON: p) }
    XCTAssertTrue(m.contains("t.json") && m.contains("model.type") && m.contains("Unigram"), m)
    XCTAssertTrue(m.contains("\"WordLevel\""), m)
  }

  func testTokenizerJSONMergeWithUnknownToken() {
    let p = write(
      "t.json",
      #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "ab c"]}}"#)
    let m = message { _ = try Tokenizer.load(tokenizerJSON: p) }
    XCTAssertTrue(m.contains("t.json") && m.contains("model.merges[1]") && m.contains("\"c\""), m)
  }

  func testMergesTxtWithUnknownToken() {
    let v = write("vocab.json", #"{"a": 0, "b": 1, "ab": 2}"#)
    let mt = write("merges.txt", "#version: 0.2\na b\nab x\n")
    let m = message { _ = try Tokenizer.byteLevelBPE(vocab: v, merges: mt) }
    XCTAssertTrue(m.contains("merges.txt") && m.contains("line 3") && m.contains("\"x\""), m)
  }

  func testMalformedMergesLine() {
    let v = write("vocab.json", #"{"a": 0, "b": 1, "ab": 2}"#)
    let mt = write("merges.txt", "#version: 0.2\na b c\n")
    let m = message { _ = try Tokenizer.byteLevelBPE(vocab: v, merges: mt) }
    XCTAssertTrue(m.contains("merges.txt") && m.contains("line 2"), m)
  }

  func testMalformedVocabJSON() {
    let v = write("vocab.json", #"["a", "b"]"#)
    let mt = write("merges.txt", "#version: 0.2\n")
    let m = message { _ = try Tokenizer.byteLevelBPE(vocab: v, merges: mt) }
    XCTAssertTrue(m.contains("vocab.json") && m.contains("top level"), m)
    let v2 = write("vocab2.json", #"{"a": -1}"#)
    let m2 = message { _ = try Tokenizer.byteLevelBPE(vocab: v2, merges: mt) }
    XCTAssertTrue(m2.contains("vocab2.json") && m2.contains("\"a\""), m2)
  }

  func testMissingAssetNamesInstallCommand() {
    let old = ProcessInfo.processInfo.environment["LOOM_HOME"]
    setenv("LOOM_HOME", dir, 1)
    defer { if let old { setenv("LOOM_HOME", old, 1) } else { unsetenv("LOOM_HOME") } }
    let m = message { _ = try Tokenizer.gpt2() }
    XCTAssertTrue(m.contains("bash scripts/fetch-assets.sh") && m.contains("gpt2/encoder.json"), m)
  }
}
