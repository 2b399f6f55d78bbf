import Foundation
import LoomTestSupport
import XCTest

@testable import LoomTokenizers

/// `loom tokenizer train --model unigram` end to end (issue 15).
final class UnigramCLITests: XCTestCase {
  func testTrainMatchesHFTrainer() throws {
    let out = NSTemporaryDirectory() + "loom-unigram-cli-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try loom([
      "tokenizer", "train", "--model", "unigram", "--files", fixturePath("train/c_corpus.txt"),
      "--vocab-size", "300", "--special-tokens", "<pad>,</s>,<unk>", "--unk-token", "<unk>",
      "--output", out, "--quiet",
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let t = try Tokenizer.load(tokenizerJSON: out + "/tokenizer.json")
    guard case .unigram(let u) = t.model else { return XCTFail("not a Unigram tokenizer") }
    XCTAssertEqual(u.unkId, 2)
    XCTAssertEqual(u.pieces.prefix(3).map(\.piece), ["<pad>", "</s>", "<unk>"])
    let hf = try fixture("unigram/c_corpus_300.json") as! [[Any]]
    XCTAssertEqual(Set(u.pieces.map(\.piece)), Set(hf.map { $0[0] as! String }))
    XCTAssertEqual(t.addedTokens.map(\.content), ["<pad>", "</s>", "<unk>"])
    let text = "int main(void) { return wolfSSL_Init(); }"
    XCTAssertEqual(t.decode(try t.encode(text).ids), text)
  }

  func testBadFlags() throws {
    let c = fixturePath("train/c_corpus.txt")
    let out = NSTemporaryDirectory() + "loom-unigram-bad-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let base = ["tokenizer", "train", "--files", c, "--output", out]
    var r = try loom(base + ["--model", "wordlevel"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("--model") && r.err.contains("unigram"), r.err)
    r = try loom(base + ["--model", "unigram", "--model-type", "roberta"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("--model-type roberta"), r.err)
    r = try loom(base + ["--model", "unigram", "--shrinking-factor", "1.5"])
    XCTAssertTrue(r.err.contains("--shrinking-factor"), r.err)
    r = try loom(base + ["--model", "unigram", "--vocab-size", "10"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("distinct characters"), r.err)
    r = try loom([
      "tokenizer", "train", "--model", "unigram", "--files", "/nonexistent/x.txt", "--output", out,
    ])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("/nonexistent/x.txt"), r.err)
  }
}
