import Foundation
import LoomTokenizers
import XCTest

@testable import LoomDatasets

/// run_qa.py's features and post-processing, from scripts/fixtures/make_qa_fixtures.py
/// (HF's code with the real MiniLM fast tokenizer).
final class QuestionAnsweringTests: XCTestCase {
  func minilm() throws -> Tokenizer {
    let home = ProcessInfo.processInfo.environment["LOOM_HOME"] ?? NSHomeDirectory() + "/.cache/loom"
    let dir = home + "/minilm"
    guard FileManager.default.fileExists(atPath: dir + "/tokenizer.json") else {
      throw XCTSkip("MiniLM missing: run scripts/fetch-assets.sh")
    }
    return try Tokenizer.load(path: dir)
  }

  func examples(_ fx: [String: Any]) throws -> Dataset {
    let e = fx["examples"] as! [String: Any]
    let answers = (e["answers"] as! [[String: Any]]).map { a -> Value in
      .dict([
        "text": .list((a["text"] as! [String]).map { .string($0) }),
        "answer_start": .ints(a["answer_start"] as! [Int]),
      ])
    }
    return try Dataset(columns: [
      ("id", (e["id"] as! [String]).map { .string($0) }),
      ("question", (e["question"] as! [String]).map { .string($0) }),
      ("context", (e["context"] as! [String]).map { .string($0) }),
      ("answers", answers),
    ])
  }

  func testTrainFeaturesMatchRunQA() throws {
    let tok = try minilm()
    let before = tok.truncation?.maxLength
    let fx = try fixture("qa.json") as! [String: Any]
    let ex = try examples(fx)
    let f = try QuestionAnswering.prepareTrainFeatures(
      ex, tokenizer: tok, maxLength: fx["max_length"] as! Int, docStride: fx["doc_stride"] as! Int)
    let want = fx["train"] as! [String: Any]
    XCTAssertEqual(try f.intSequences("input_ids"), want["input_ids"] as! [[Int]])
    XCTAssertEqual(try f.intSequences("token_type_ids"), want["token_type_ids"] as! [[Int]])
    XCTAssertEqual(try f.ints("start_positions"), want["start_positions"] as! [Int])
    XCTAssertEqual(try f.ints("end_positions"), want["end_positions"] as! [Int])
    // Several windows per long context, some holding the answer.
    XCTAssertGreaterThan(f.count, ex.count)
    XCTAssertTrue(try f.ints("start_positions").contains { $0 > 0 })
    // The tokenizer's own truncation (128 in MiniLM's tokenizer.json) is restored.
    XCTAssertEqual(tok.truncation?.maxLength, before)
    XCTAssertEqual(before, 128)
  }

  func testValidationFeaturesAndPostprocessMatchRunQA() throws {
    let tok = try minilm()
    let fx = try fixture("qa.json") as! [String: Any]
    let ex = try examples(fx)
    let f = try QuestionAnswering.prepareValidationFeatures(
      ex, tokenizer: tok, maxLength: fx["max_length"] as! Int, docStride: fx["doc_stride"] as! Int)
    let want = fx["validation"] as! [String: Any]
    XCTAssertEqual(try f.strings("example_id"), want["example_id"] as! [String])
    let offs = try f.column("offset_mapping").map { row in row.list!.map { $0.ints } }
    let wantOffs = (want["offset_mapping"] as! [[Any]]).map { row in row.map { $0 as? [Int] } }
    XCTAssertEqual(offs, wantOffs)
    let sl = (fx["start_logits"] as! [[Double]]).map { $0.map(Float.init) }
    let el = (fx["end_logits"] as! [[Double]]).map { $0.map(Float.init) }
    let preds = try QuestionAnswering.postprocess(
      examples: ex, features: f, startLogits: sl, endLogits: el,
      nBestSize: fx["n_best_size"] as! Int, maxAnswerLength: fx["max_answer_length"] as! Int)
    let wantPreds = fx["predictions"] as! [String: String]
    XCTAssertEqual(preds.count, wantPreds.count)
    for p in preds { XCTAssertEqual(p.text, wantPreds[p.id], p.id) }
    for p in preds {
      XCTAssertEqual(p.nBest.map(\.probability).reduce(0, +), 1, accuracy: 1e-9)
    }
  }

  func testPostprocessPicksTheAnswerSpanAndHonoursMaxLength() throws {
    let ex = try Dataset(columns: [("id", ["a"]), ("context", ["Paris is the capital of France."])])
    // Tokens: [CLS] q [SEP] Paris is the capital of France . [SEP]
    let offsets: [Value] = [
      .null, .null, .null, .ints([0, 5]), .ints([6, 8]), .ints([9, 12]), .ints([13, 20]),
      .ints([21, 23]), .ints([24, 30]), .ints([30, 31]), .null,
    ]
    let f = try Dataset(columns: [("example_id", ["a"]), ("offset_mapping", [.list(offsets)])])
    var s = [Float](repeating: 0, count: 11), e = s
    s[3] = 5; e[6] = 4; e[3] = 1
    var p = try QuestionAnswering.postprocess(examples: ex, features: f, startLogits: [s], endLogits: [e])
    XCTAssertEqual(p[0].text, "Paris is the capital")
    p = try QuestionAnswering.postprocess(
      examples: ex, features: f, startLogits: [s], endLogits: [e], maxAnswerLength: 2)
    XCTAssertEqual(p[0].text, "Paris")
    // SQuAD v2: a strong CLS score predicts no answer.
    s[0] = 20; e[0] = 20
    p = try QuestionAnswering.postprocess(
      examples: ex, features: f, startLogits: [s], endLogits: [e], versionTwoWithNegative: true)
    XCTAssertEqual(p[0].text, "")
    assertThrows(["1 features", "0 start"]) {
      try QuestionAnswering.postprocess(examples: ex, features: f, startLogits: [], endLogits: [])
    }
  }

  func testLoadSQuADChecksAnswers() throws {
    let dir = try tempDir(self)
    let good = #"{"data": [{"title": "T", "paragraphs": [{"context": "Loom is in Swift.", "qas": [{"id": "1", "question": "In what?", "answers": [{"text": "Swift", "answer_start": 11}]}]}]}]}"#
    try write(good, dir + "/s.json")
    let d = try Dataset.loadSQuAD(dir + "/s.json")
    XCTAssertEqual(d.columnNames, ["id", "title", "context", "question", "answers"])
    XCTAssertEqual(d[0]["answers"]?["answer_start"], .ints([11]))
    try write(good.replacingOccurrences(of: "11", with: "3"), dir + "/b.json")
    assertThrows(["b.json", "question 1", "not at answer_start 3"]) { try Dataset.loadSQuAD(dir + "/b.json") }
  }
}
