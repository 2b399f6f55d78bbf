import Foundation
import LoomTokenizers
import XCTest

@testable import LoomDatasets

/// Inputs the libFuzzer targets fuzz-csv, fuzz-jsonl and fuzz-squad found crashing the readers
/// (issue 13): each is now an error naming the file, or loads.
final class ReaderFuzzRegressionTests: XCTestCase {
  /// fuzz-squad: a flat (JSON-lines) SQuAD row without a context trapped on a force-unwrap.
  func testSQuADRowWithoutContextOrWithANumberIsAnError() throws {
    let dir = try tempDir(self)
    let p = dir + "/squad.jsonl"
    let answers = #""answers": {"text": ["paris"], "answer_start": [14]}"#
    try write(
      #"{"id": "q0", "context": "john lives in paris", "question": "where?", \#(answers)}"# + "\n"
        + #"{"id": "q1", "question": "where?", \#(answers)}"# + "\n", p)
    assertThrows(["squad.jsonl: row 2 (question q1): 'context' must be a string, got null"]) { try Dataset.loadSQuAD(p) }
    try write(#"{"id": "q0", "context": 7, "question": "where?", \#(answers)}"#, p)
    assertThrows(["squad.jsonl: row 1 (question q0): 'context' must be a string, got 7"]) { try Dataset.loadSQuAD(p) }
    try write(#"{"id": "q0", "context": "c", "question": ["where?"], \#(answers)}"#, p)
    assertThrows(["row 1 (question q0): 'question' must be a string"]) { try Dataset.loadSQuAD(p) }
    try write(#"{"id": "q0", "context": "c", "question": "q", "answers": null}"#, p)
    assertThrows(["squad.jsonl: question q0: row 0: 'answers' must be"]) { try Dataset.loadSQuAD(p) }
  }

  /// answer_start + the answer's length overflowed (a trap) for answer_start near Int.max.
  func testSQuADAnswerStartNearIntMaxIsAnError() throws {
    let dir = try tempDir(self)
    let p = dir + "/squad.json"
    for start in ["9223372036854775807", "-1", "20"] {
      try write(
        #"{"data": [{"title": "t", "paragraphs": [{"context": "john lives in paris", "qas": [{"id": "a", "question": "where?", "answers": [{"text": "paris", "answer_start": \#(start)}]}]}]}]}"#,
        p)
      assertThrows(["squad.json: question a: answer \"paris\" is not at answer_start \(start) of its context"]) {
        try Dataset.loadSQuAD(p)
      }
    }
    // Unchecked (a dataset built in code), such a start points at no window instead of trapping.
    let d = try Dataset(columns: [
      ("id", ["a"]), ("context", ["john lives in paris"]), ("question", ["where?"]),
      ("answers", [.dict(["text": .list(["paris"]), "answer_start": .ints([Int.max])])]),
    ])
    let tokenizer = try Tokenizer.load(tokenizerJSON: try wordPieceTokenizer(dir))
    let f = try QuestionAnswering.prepareTrainFeatures(d, tokenizer: tokenizer, maxLength: 16, docStride: 4)
    XCTAssertEqual(try f.column("start_positions"), [0])
    XCTAssertEqual(try f.column("end_positions"), [0])
  }

  /// Every fuzzer's empty input: read through FileHandle (Data(contentsOf:) leaked 4 KB per
  /// empty file, which grows a long fuzzing run's memory). A directory is named as one.
  func testEmptyFilesAndDirectories() throws {
    let dir = try tempDir(self)
    try write("", dir + "/e.csv")
    assertThrows(["e.csv: empty file; a CSV needs a header row"]) { try Dataset.load([dir + "/e.csv"]) }
    try write("", dir + "/e.jsonl")
    XCTAssertEqual(try Dataset.load([dir + "/e.jsonl"]).count, 0)
    try FileManager.default.createDirectory(atPath: dir + "/d.csv", withIntermediateDirectories: true)
    assertThrows(["\(dir)/d.csv is a directory, not a data file"]) { try Dataset.load([dir + "/d.csv"]) }
    assertThrows(["\(dir)/d.csv is a directory"]) { try Dataset.loadSQuAD(dir + "/d.csv") }
  }

  /// A BERT-style WordPiece tokenizer.json with a few words, written into `dir`.
  func wordPieceTokenizer(_ dir: String) throws -> String {
    let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "john", "lives", "in", "paris", "where", "?"]
    let json: [String: Any] = [
      "version": "1.0",
      "added_tokens": vocab.prefix(4).enumerated().map { i, t in
        ["id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true]
      },
      "pre_tokenizer": ["type": "Whitespace"],
      "post_processor": [
        "type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2],
      ],
      "model": [
        "type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
        "vocab": Dictionary(uniqueKeysWithValues: vocab.enumerated().map { ($1, $0) }),
      ],
    ]
    let path = dir + "/tokenizer.json"
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    return path
  }
}
