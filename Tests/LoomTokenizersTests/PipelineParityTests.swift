import Foundation
import XCTest

@testable import LoomTokenizers

/// Normalizers, pre-tokenizers, post-processors and decoders assembled in HF, saved as
/// tokenizer.json, loaded by Loom and compared on HF's encodings.
final class PipelineParityTests: XCTestCase {
  func load(_ name: String) throws -> Tokenizer {
    let path = fixturePath("pipelines/\(name).json")
    if name.hasPrefix("bpe") { return try Tokenizer.load(tokenizerJSON: path) }
    // WordPiece pipelines are committed without the vocabulary: take MiniLM's.
    let minilm =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: requireAsset("minilm/tokenizer.json"))))
      as! [String: Any]
    var d =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
      as! [String: Any]
    var model = d["model"] as! [String: Any]
    model["vocab"] = (minilm["model"] as! [String: Any])["vocab"]
    d["model"] = model
    let tmp = NSTemporaryDirectory() + "loom-pipe-\(getpid())-\(name).json"
    try JSONSerialization.data(withJSONObject: d).write(to: URL(fileURLWithPath: tmp))
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    return try Tokenizer.load(tokenizerJSON: tmp)
  }

  func check(_ name: String) throws {
    let tok = try load(name)
    let all = try fixture("pipelines/encodings.json") as! [String: Any]
    let d = all[name] as! [String: Any]
    let s = try FixtureStrings()
    let single = d["single"] as! [[String: Any]]
    XCTAssertGreaterThan(single.count, 100)
    for (i, h) in single.enumerated() {
      assertMatches(
        try tok.encode(s.texts[i]), h, "\(name) #\(i) \(s.texts[i].prefix(30).debugDescription)")
    }
    for (i, h) in (d["pair"] as! [[String: Any]]).enumerated() {
      assertMatches(try tok.encode(s.pairs[i].0, pair: s.pairs[i].1), h, "\(name) pair #\(i)")
    }
    for (i, want) in (d["decoded"] as! [String]).enumerated() {
      XCTAssertEqual(tok.decode(try tok.encode(s.texts[i]).ids), want, "\(name) decode #\(i)")
    }
  }

  func testBPEWithNFKCSplitRoberta() throws { try check("bpe_nfkc_split_roberta") }
  func testWordPieceWithNFCWhitespaceTemplate() throws {
    try check("wordpiece_nfc_whitespace_template")
  }
  func testSplitRemoved() throws { try check("split_removed") }
  func testSplitIsolated() throws { try check("split_isolated") }
  func testSplitMergedWithPrevious() throws { try check("split_merged_with_previous") }
  func testSplitMergedWithNext() throws { try check("split_merged_with_next") }
  func testSplitContiguous() throws { try check("split_contiguous") }
}
