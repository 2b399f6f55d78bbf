import Foundation
import LoomTestSupport
import XCTest

/// `loom token-classify --adapter DIR`: HF's token-classification pipeline on a LoRA adapter that
/// `loom train token-classify` wrote (both aggregation strategies).
extension PeftTrainCLITests {
  func testTokenClassifyTagsWithALoRAAdapter() throws {
    let out = dir + "/ner-lora"
    let t = try loom([
      "train", "token-classify", "--model", Self.roberta, "--data", Self.encoderCLI + "/ner.jsonl",
      "--max-steps", "120",
      "--batch-size", "8", "--learning-rate", "5e-2", "--eval-strategy", "no", "--save-strategy",
      "no", "--lora-r", "4",
      "--output-dir", out,
    ])
    XCTAssertEqual(t.status, 0, t.err)
    let text = "john lives in paris ."
    func rows(_ extra: [String]) throws -> [[String: Any]] {
      let r = try loom(
        ["token-classify", "--model", Self.roberta, "--adapter", out, "--text", text] + extra)
      XCTAssertEqual(r.status, 0, r.err)
      return r.out.split(separator: "\n").map {
        try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
      }
    }
    let tokens = try rows([])
    XCTAssertFalse(tokens.isEmpty, "the trained adapter tags something")
    let scalars = Array(text.unicodeScalars)
    for row in tokens {
      let entity = try XCTUnwrap(row["entity"] as? String)
      XCTAssertTrue(["B-PER", "I-PER", "B-LOC", "I-LOC"].contains(entity), "\(row)")
      let score = try XCTUnwrap(row["score"] as? Double)
      XCTAssertTrue(score > 0 && score <= 1, "\(row)")
      XCTAssertGreaterThan(row["index"] as! Int, 0, "index 0 is <s>, a special token")
      let (start, end) = (row["start"] as! Int, row["end"] as! Int)
      XCTAssertTrue(0 <= start && start <= end && end <= scalars.count, "\(row)")
    }
    // The tiny character-level model's tags are not yet right; the pipeline's bookkeeping is checked.
    XCTAssertEqual(
      Set(tokens.map { $0["index"] as! Int }).count, tokens.count, "one entry per token")
    let groups = try rows(["--aggregation-strategy", "simple"])
    XCTAssertFalse(groups.isEmpty)
    for g in groups {
      XCTAssertTrue(["PER", "LOC"].contains(g["entity_group"] as? String ?? ""), "\(g)")
      let (start, end) = (g["start"] as! Int, g["end"] as! Int)
      let span = String(String.UnicodeScalarView(scalars[start..<end]))
      XCTAssertEqual((g["word"] as? String)?.trimmingCharacters(in: .whitespaces), span, "\(g)")
    }
    XCTAssertLessThanOrEqual(groups.count, tokens.count)
    let bad = try loom([
      "token-classify", "--model", Self.roberta, "--text", text, "--aggregation-strategy", "max",
    ])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("--aggregation-strategy must be none or simple"), bad.err)
  }
}
