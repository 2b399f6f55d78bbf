import Foundation
import LoomTestSupport
import XCTest

@testable import LoomTokenizers

/// `loom tokenizer …` end to end, with the binary built next to the test bundle.
final class CLITests: XCTestCase {
  func testTrainEncodeDecode() throws {
    let out = NSTemporaryDirectory() + "loom-cli-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try loom([
      "tokenizer", "train", "--files", fixturePath("train/c_corpus.txt"), "--vocab-size", "600",
      "--min-frequency", "2", "--special-tokens", "<s>,<pad>,</s>,<unk>,<mask>", "--output", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    for f in ["vocab.json", "merges.txt", "tokenizer.json"] {
      let mine = try Data(contentsOf: URL(fileURLWithPath: out + "/" + f))
      let hf = try Data(contentsOf: URL(fileURLWithPath: fixturePath("train/c_600/" + f)))
      XCTAssertTrue(mine == hf, "\(f) differs from HF's")
    }
    let text = "int main(void) {\n  return wolfSSL_Init();\n}"
    let enc = try loom(["tokenizer", "encode", "--tokenizer", out, "--text", text])
    XCTAssertEqual(enc.status, 0, enc.err)
    let tok = try Tokenizer.load(path: out + "/tokenizer.json")
    let want = try text.split(separator: "\n").map {
      try tok.encode(String($0)).ids.map(String.init).joined(separator: " ")
    }
    XCTAssertEqual(enc.out.split(separator: "\n").map(String.init), want)

    let js = try loom([
      "tokenizer", "encode", "--tokenizer", out + "/tokenizer.json", "--text", "x = 1;", "--pair",
      "y", "--json", "--max-length", "4",
    ])
    XCTAssertEqual(js.status, 0, js.err)
    let obj = try JSONSerialization.jsonObject(with: Data(js.out.utf8)) as! [String: Any]
    XCTAssertEqual((obj["ids"] as! [Int]).count, 4)

    let dec = try loom([
      "tokenizer", "decode", "--tokenizer", out, "--ids",
      enc.out.split(separator: "\n")[1].description,
    ])
    XCTAssertEqual(dec.status, 0, dec.err)
    XCTAssertEqual(dec.out, "  return wolfSSL_Init();\n")
  }

  func testErrorsNameTheFile() throws {
    let r = try loom([
      "tokenizer", "train", "--files", "/nonexistent/corpus.txt", "--vocab-size", "300", "--output",
      NSTemporaryDirectory() + "x",
    ])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("/nonexistent/corpus.txt"), r.err)
    let e = try loom(["tokenizer", "encode", "--tokenizer", "/nonexistent/tok.json", "--text", "a"])
    XCTAssertNotEqual(e.status, 0)
    XCTAssertTrue(e.err.contains("/nonexistent/tok.json"), e.err)
  }
}
