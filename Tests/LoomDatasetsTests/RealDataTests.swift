import Foundation
import LoomTokenizers
import XCTest

@testable import LoomDatasets

/// The real sets scripts/fetch-assets.sh builds (skipped where they are absent).
final class RealDataTests: XCTestCase {
  func require(_ rel: String) throws {
    guard FileManager.default.fileExists(atPath: RealDatasets.home + "/" + rel) else {
      throw XCTSkip("\(rel) missing: run scripts/fetch-assets.sh")
    }
  }

  func testRottenTomatoesSplit() throws {
    try require("rotten_tomatoes/train.csv")
    let sizes = try RealDatasets.splits.map { try RealDatasets.rottenTomatoes($0).count }
    XCTAssertEqual(sizes, [10201, 1275, 1276])
    let train = try RealDatasets.rottenTomatoes("train")
    XCTAssertEqual(train.features["label"]?.names, ["neg", "pos"])
    let pos = Double(try train.ints("label").reduce(0, +)) / Double(train.count)
    XCTAssertEqual(pos, 0.58, accuracy: 0.03)  // 7.4k fresh of 12.8k
    let test = try RealDatasets.rottenTomatoes("test")
    XCTAssertTrue(Set(try train.strings("text")).isDisjoint(with: try test.strings("text")))
    assertThrows(["unknown split 'dev'"]) { try RealDatasets.rottenTomatoes("dev") }
  }

  /// The tokenizer map on 10k real sentences: parallel encode, then the on-disk cache.
  func testTokenizeRottenTomatoesIsCached() throws {
    try require("rotten_tomatoes/train.csv")
    let tok = try Tokenizer.load(path: RealDatasets.home + "/minilm")
    let train = try RealDatasets.rottenTomatoes("train")
    let dir = try tempDir(self)
    var t0 = Date()
    let a = try train.tokenize(tok, textColumn: "text", options: .init(maxLength: 128), cacheDir: dir)
    let encode = Date().timeIntervalSince(t0)
    t0 = Date()
    let b = try train.tokenize(tok, textColumn: "text", options: .init(maxLength: 128), cacheDir: dir)
    let cached = Date().timeIntervalSince(t0)
    print(String(format: "tokenize %d rows: %.3f s encoding, %.3f s from cache", train.count, encode, cached))
    XCTAssertEqual(a, b)
    XCTAssertEqual(a.cacheFile, b.cacheFile)
    let ids = try a.intSequences("input_ids")
    XCTAssertTrue(ids.allSatisfy { $0.count <= 128 && $0.first == 101 && $0.last == 102 })
    // The same ids as a plain encode less its padding (MiniLM's tokenizer.json pads to 128;
    // the map leaves padding to the collator).
    let e = try tok.encode(try train.strings("text")[0])
    XCTAssertEqual(ids[0], zip(e.ids, e.attentionMask).filter { $0.1 == 1 }.map { Int($0.0) })
    XCTAssertEqual(e.count, 128)
    let c = try CollatorIds(tok)
    XCTAssertEqual([c.padTokenId, c.clsTokenId, c.sepTokenId, c.maskTokenId], [0, 101, 102, 103])
    XCTAssertEqual(c.vocabSize, 30522)
    XCTAssertEqual(c.specialTokenIds, [0, 100, 101, 102, 103])
    XCTAssertEqual(c.continuationTokenIds.count, 5828)
  }

  func testWolfSSLTaggingAndQASets() throws {
    try require("wolfssl-tags/train.jsonl")
    let tags = try RealDatasets.wolfsslTags("validation")
    XCTAssertGreaterThan(tags.count, 1000)
    let ids = try tags.intSequences("ner_tags").flatMap { $0 }
    XCTAssertTrue(ids.allSatisfy { (0..<RealDatasets.wolfsslTagNames.count).contains($0) })
    XCTAssertTrue(Set(ids).count >= 10)
    let qa = try RealDatasets.wolfsslQA("validation")
    XCTAssertGreaterThan(qa.count, 300)
    // Every answer sits at its offset (loadSQuAD checks) and long contexts split into windows.
    let tok = try Tokenizer.load(path: RealDatasets.home + "/minilm")
    let some = try qa.select(Array(0..<40))
    let f = try QuestionAnswering.prepareTrainFeatures(some, tokenizer: tok, maxLength: 128, docStride: 32)
    XCTAssertGreaterThan(f.count, 40)
    XCTAssertGreaterThan(try f.ints("start_positions").filter { $0 > 0 }.count, 30)
  }

  func testAlignLabelsToFirstSubToken() throws {
    let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "good", "##bye"]
    let dir = try tempDir(self)
    try write(vocab.joined(separator: "\n") + "\n", dir + "/vocab.txt")
    let tok = try Tokenizer.load(path: dir)
    let d = try Dataset(columns: [
      ("tokens", [.list(["hello", "goodbye", "world"])]), ("ner_tags", [.list(["B-X", "I-X", "O"])]),
    ])
    let names = try ClassLabel(names: ["O", "B-X", "I-X"])
    let a = try d.tokenizeAndAlignLabels(tok, labelNames: names)
    XCTAssertEqual(try a.intSequences("input_ids")[0], [2, 5, 7, 8, 6, 3])
    XCTAssertEqual(try a.intSequences("word_ids")[0], [-1, 0, 1, 1, 2, -1])
    XCTAssertEqual(try a.intSequences("labels")[0], [-100, 1, 2, -100, 0, -100])
    let all = try d.tokenizeAndAlignLabels(tok, labelNames: names, labelAllTokens: true)
    XCTAssertEqual(try all.intSequences("labels")[0], [-100, 1, 2, 2, 0, -100])
    let bad = try Dataset(columns: [("tokens", [.list(["hello"])]), ("ner_tags", [.list(["B-Y"])])])
    assertThrows(["row 0", "unseen label 'B-Y'"]) { try bad.tokenizeAndAlignLabels(tok, labelNames: names) }
  }
}
