import LoomTokenizers
import XCTest

@testable import LoomDatasets

final class DatasetTests: XCTestCase {
  func testCSVQuotingAndTypes() throws {
    let dir = try tempDir(self)
    let p = dir + "/a.csv"
    try write("text,label,score\n\"hello, world\",pos,1.5\n\"say \"\"hi\"\"\nthere\",neg,2\nplain,pos,3\n", p)
    let d = try Dataset.load([p])
    XCTAssertEqual(d.columnNames, ["text", "label", "score"])
    XCTAssertEqual(d.count, 3)
    XCTAssertEqual(try d.strings("text"), ["hello, world", "say \"hi\"\nthere", "plain"])
    XCTAssertEqual(try d.column("score"), [.double(1.5), .double(2), .double(3)])
    XCTAssertEqual(d[1]["label"], "neg")
  }

  func testCSVErrorsNameFileAndLine() throws {
    let dir = try tempDir(self)
    let p = dir + "/bad.csv"
    try write("text,label\na,pos\nb,neg,extra\n", p)
    assertThrows(["bad.csv:3", "3 fields", "header has 2"]) { try Dataset.loadCSV(p) }
    try write("sentence,label\na,pos\n", p)
    assertThrows(["bad.csv:1", "missing column 'text'", "sentence, label"]) {
      try Dataset.loadCSV(p, requiredColumns: ["text", "label"])
    }
    try write("text\n\"never closed\n", p)
    assertThrows(["bad.csv:2", "never closed"]) { try Dataset.loadCSV(p) }
    assertThrows(["no such file", "nope.csv"]) { try Dataset.load([dir + "/nope.csv"]) }
    assertThrows(["no column 'txt'", "columns: text"]) {
      try Dataset.loadText(p).column("txt")
    }
  }

  func testTextAndJSONLines() throws {
    let dir = try tempDir(self)
    try write("one\n\ntwo\r\n", dir + "/a.txt")
    XCTAssertEqual(try Dataset.load([dir + "/a.txt"]).strings("text"), ["one", "", "two"])
    try write("{\"q\": \"x\", \"n\": 1, \"ok\": true}\n{\"q\": \"y\", \"n\": 2.5}\n", dir + "/a.jsonl")
    let j = try Dataset.load([dir + "/a.jsonl"])
    XCTAssertEqual(j.columnNames, ["n", "ok", "q"])
    XCTAssertEqual(try j.column("n"), [.int(1), .double(2.5)])
    XCTAssertEqual(try j.column("ok"), [.bool(true), .null])
    try write("{\"q\": 1}\nnot json\n", dir + "/b.jsonl")
    assertThrows(["b.jsonl:2", "not valid JSON"]) { try Dataset.load([dir + "/b.jsonl"]) }
  }

  func testSplitShuffleSelectFilter() throws {
    let d = try Dataset(columns: [("x", (0..<100).map { .int($0) })])
    let (train, test) = try d.trainTestSplit(testSize: 0.15, seed: 7)
    XCTAssertEqual(test.count, 15)
    XCTAssertEqual(train.count, 85)
    XCTAssertEqual(Set(try train.ints("x") + test.ints("x")), Set(0..<100))
    // Seeded: the same seed gives the same split, another seed another.
    XCTAssertEqual(try d.trainTestSplit(testSize: 0.15, seed: 7).test, test)
    XCTAssertNotEqual(try d.trainTestSplit(testSize: 0.15, seed: 8).test, test)
    XCTAssertEqual(try d.trainTestSplit(testSize: 10, seed: 7).test.count, 10)
    assertThrows(["test_size"]) { try d.trainTestSplit(testSize: 100) }
    let s = d.shuffle(seed: 3)
    XCTAssertNotEqual(try s.ints("x"), Array(0..<100))
    XCTAssertEqual(try s.ints("x").sorted(), Array(0..<100))
    XCTAssertEqual(try d.select([5, 2]).ints("x"), [5, 2])
    assertThrows(["index 100", "100 rows"]) { try d.select([100]) }
    XCTAssertEqual(try d.filter { $0["x"]!.int! % 10 == 0 }.ints("x"), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
  }

  func testClassLabelsAndUnseenLabel() throws {
    let train = try Dataset(columns: [("label", ["pos", "neg", "pos"])])
    let enc = try train.classEncodeColumn("label")
    XCTAssertEqual(enc.features["label"]?.names, ["neg", "pos"])
    XCTAssertEqual(try enc.ints("label"), [1, 0, 1])
    let test = try Dataset(columns: [("label", ["neg", "meh"])])
    assertThrows(["row 1", "unseen label 'meh'", "neg, pos"]) {
      try test.encodeLabels("label", with: enc.features["label"]!)
    }
  }

  func testMapRowsAndBatches() throws {
    let d = try Dataset(columns: [("x", [1, 2, 3]), ("y", ["a", "b", "c"])])
    let m = try d.map { r in ["z": .int(r["x"]!.int! * 10)] }
    XCTAssertEqual(m.columnNames, ["x", "y", "z"])
    XCTAssertEqual(try m.ints("z"), [10, 20, 30])
    // Batched, changing the row count (one row -> x rows), input columns removed.
    let e = try d.map(batchSize: 2, numProc: 2, removeColumns: ["x", "y"]) { b in
      ["k": b["x"]!.flatMap { v in (0..<v.int!).map { _ in v } }]
    }
    XCTAssertEqual(try e.ints("k"), [1, 2, 2, 3, 3, 3])
    assertThrows(["cannot be kept", "removeColumns"]) {
      try d.map(batchSize: 2) { b in ["k": b["x"]! + b["x"]!] }
    }
  }

  func testMapCacheReusesResultAndKeysOnInput() throws {
    let dir = try tempDir(self)
    let d = try Dataset(columns: [("x", [1, 2, 3])])
    let cache = MapCache(directory: dir, functionID: "double v1")
    let a = try d.map(cache: cache) { b in ["y": b["x"]!.map { .int($0.int! * 2) }] }
    XCTAssertNotNil(a.cacheFile)
    // The cached file is read back (the closure's different output is not used).
    let b = try d.map(cache: cache) { b in ["y": b["x"]!.map { _ in .int(0) }] }
    XCTAssertEqual(try b.ints("y"), [2, 4, 6])
    XCTAssertEqual(b.cacheFile, a.cacheFile)
    // Another input, another fingerprint.
    let d2 = try Dataset(columns: [("x", [1, 2, 4])])
    let c = try d2.map(cache: cache) { b in ["y": b["x"]!.map { .int($0.int! * 2) }] }
    XCTAssertNotEqual(c.cacheFile, a.cacheFile)
    XCTAssertEqual(try Dataset.readCache(a.cacheFile!), a)
  }

  func testTokenizeMapIsCachedAndParallel() throws {
    let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "good", "##bye"]
    let dir = try tempDir(self)
    try write(vocab.joined(separator: "\n") + "\n", dir + "/vocab.txt")
    let tok = try Tokenizer.load(path: dir)
    let texts: [Value] = (0..<500).map { .string($0 % 2 == 0 ? "hello world" : "goodbye hello") }
    let d = try Dataset(columns: [("text", texts), ("label", (0..<500).map { .int($0 % 2) })])
    let t = try d.tokenize(tok, textColumn: "text", options: .init(maxLength: 4), cacheDir: dir + "/c")
    XCTAssertEqual(t.columnNames, ["text", "label", "input_ids", "token_type_ids", "attention_mask"])
    XCTAssertEqual(try t.intSequences("input_ids")[0], [2, 5, 6, 3])
    XCTAssertEqual(try t.intSequences("input_ids")[1], [2, 7, 8, 3])
    XCTAssertNil(tok.truncation)
    let again = try d.tokenize(tok, textColumn: "text", options: .init(maxLength: 4), cacheDir: dir + "/c")
    XCTAssertEqual(again.cacheFile, t.cacheFile)
    XCTAssertEqual(again, t)
    let other = try d.tokenize(tok, textColumn: "text", options: .init(maxLength: 3), cacheDir: dir + "/c")
    XCTAssertNotEqual(other.cacheFile, t.cacheFile)
    XCTAssertEqual(try other.intSequences("input_ids")[0], [2, 5, 3])
    let f = try t.intFeatures(["input_ids", "label"])
    XCTAssertEqual(f[1]["label"], [1])
    // Word ids: "good" + "##bye" are one word.
    let w = try d.select([1]).tokenize(tok, textColumn: "text", options: .init(returnWordIds: true))
    XCTAssertEqual(try w.intSequences("word_ids")[0], [-1, 0, 0, 1, -1])
    // NSP documents: blank rows separate documents.
    let lines = try Dataset(columns: [("text", ["hello world", "goodbye", "", "world", " "])])
    XCTAssertEqual(try lines.nspDocuments(tok), [[[5, 6], [7, 8]], [[6]]])
  }
}
