import Foundation
import XCTest

@testable import LoomTokenizers

/// Loads a JSON fixture committed under Fixtures/.
func fixture(_ name: String) throws -> Any {
  let url =
    Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)
    ?? Bundle.module.resourceURL!.appendingPathComponent("Fixtures/" + name)
  return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
}

func fixturePath(_ name: String) -> String {
  Bundle.module.resourceURL!.appendingPathComponent("Fixtures/" + name).path
}

/// The strings and pairs every parity fixture was made from.
struct FixtureStrings {
  let texts: [String]
  let pairs: [(String, String)]
  init() throws {
    let d = try fixture("strings.json") as! [String: Any]
    texts = d["texts"] as! [String]
    pairs = (d["pairs"] as! [[String]]).map { ($0[0], $0[1]) }
  }
}

/// Skips a test when a real asset is absent (CI fetches them first).
func requireAsset(_ rel: String) throws -> String {
  do { return try LoomHome.asset(rel).path } catch { throw XCTSkip("\(error)") }
}

private func ints(_ x: Any?) -> [Int]? { (x as? [NSNumber])?.map { $0.intValue } }

/// Compares one Loom encoding with an HF one (overflowing one level deep).
func assertMatches(
  _ e: Encoding, _ h: [String: Any], _ label: String, file: StaticString = #filePath,
  line: UInt = #line
) {
  let ids = ints(h["ids"])!
  XCTAssertEqual(e.ids.map(Int.init), ids, "\(label): ids", file: file, line: line)
  guard e.ids.map(Int.init) == ids else { return }
  let offs = e.offsets.flatMap { [$0.lowerBound, $0.upperBound] }
  XCTAssertEqual(offs, ints(h["offsets"])!, "\(label): offsets", file: file, line: line)
  XCTAssertEqual(
    e.typeIds.map(Int.init), ints(h["type_ids"]) ?? Array(repeating: 0, count: ids.count),
    "\(label): type_ids", file: file, line: line)
  XCTAssertEqual(
    e.specialTokensMask.map(Int.init),
    ints(h["special_tokens_mask"]) ?? Array(repeating: 0, count: ids.count),
    "\(label): special_tokens_mask", file: file, line: line)
  XCTAssertEqual(
    e.attentionMask.map(Int.init),
    ints(h["attention_mask"]) ?? Array(repeating: 1, count: ids.count), "\(label): attention_mask",
    file: file, line: line)
  let over = h["overflowing"] as? [[String: Any]] ?? []
  XCTAssertEqual(
    e.overflowing.count, over.count, "\(label): overflowing count", file: file, line: line)
  for (k, (a, b)) in zip(e.overflowing, over).enumerated() {
    var b2 = b
    b2["overflowing"] = nil
    var a2 = a
    a2.overflowing = []
    assertMatches(a2, b2, "\(label) overflow \(k)", file: file, line: line)
  }
}

/// Runs every case of an `encode_cases` fixture against `tok`.
func checkEncodingCases(
  _ tok: Tokenizer, fixtureName: String, padToken: String, file: StaticString = #filePath,
  line: UInt = #line
) throws {
  let s = try FixtureStrings()
  let d = try fixture(fixtureName) as! [String: Any]
  func cases(_ k: String) -> [[String: Any]] { d[k] as! [[String: Any]] }
  let plain = try tok.encodeBatch(s.texts)
  XCTAssertGreaterThanOrEqual(s.texts.count, 300, file: file, line: line)
  XCTAssertEqual(cases("plain").count, s.texts.count, file: file, line: line)
  for (i, h) in cases("plain").enumerated() {
    assertMatches(
      plain[i], h, "plain #\(i) \(s.texts[i].prefix(40).debugDescription)", file: file, line: line)
  }
  let decoded = d["decoded"] as! [String]
  for (i, e) in plain.enumerated() {
    XCTAssertEqual(tok.decode(e.ids), decoded[i], "decode #\(i)", file: file, line: line)
  }

  tok.truncation = Truncation(maxLength: 16, stride: 4)
  for (i, h) in cases("trunc16_stride4").enumerated() {
    assertMatches(try tok.encode(s.texts[i]), h, "trunc16 #\(i)", file: file, line: line)
  }
  tok.truncation = Truncation(maxLength: 12, left: true)
  for (i, h) in cases("trunc12_left").enumerated() {
    assertMatches(try tok.encode(s.texts[i]), h, "trunc12L #\(i)", file: file, line: line)
  }
  for (name, strat) in [
    ("longest_first", TruncationStrategy.longestFirst), ("only_first", .onlyFirst),
    ("only_second", .onlySecond),
  ] {
    tok.truncation = Truncation(maxLength: 24, stride: 2, strategy: strat)
    for (i, h) in cases("pair_" + name).enumerated() {
      let (a, b) = s.pairs[i]
      if h["error"] != nil {
        XCTAssertThrowsError(
          try tok.encode(a, pair: b), "pair \(name) #\(i) should fail", file: file, line: line)
      } else {
        assertMatches(try tok.encode(a, pair: b), h, "pair \(name) #\(i)", file: file, line: line)
      }
    }
  }
  tok.truncation = nil
  let padId = tok.tokenToId(padToken) ?? 0
  tok.padding = Padding(padToMultipleOf: 8, padId: padId, padToken: padToken)
  let batch = try tok.encodeBatch(Array(s.texts.prefix(30)))
  for (i, h) in cases("pad_longest_m8").enumerated() {
    assertMatches(batch[i], h, "pad longest #\(i)", file: file, line: line)
  }
  tok.padding = Padding(length: 64, left: true, padId: padId, padToken: padToken)
  tok.truncation = Truncation(maxLength: 64)
  let batch2 = try tok.encodeBatch(Array(s.texts.prefix(30)))
  for (i, h) in cases("pad_fixed64_left").enumerated() {
    assertMatches(batch2[i], h, "pad fixed left #\(i)", file: file, line: line)
  }
  tok.padding = nil
  tok.truncation = nil
}
