import XCTest

@testable import LoomTokenizers

/// GPT-2 from the package-shipped encoder.json + vocab.bpe against HF `GPT2TokenizerFast`.
final class GPT2ParityTests: XCTestCase {
  func gpt2() throws -> Tokenizer {
    try Tokenizer.gpt2(
      encoder: requireAsset("gpt2/encoder.json"), merges: requireAsset("gpt2/vocab.bpe"))
  }

  func testEncodingsMatchHF() throws {
    try checkEncodingCases(try gpt2(), fixtureName: "gpt2_encodings.json", padToken: "<pad>")
  }

  func testRoundTrip() throws {
    let tok = try gpt2()
    for t in try FixtureStrings().texts { XCTAssertEqual(tok.decode(tok.encodeIds(t)), t) }
  }

  func testTokensMatchHF() throws {
    let tok = try gpt2()
    let d = try fixture("gpt2_encodings.json") as! [String: Any]
    let toks = d["tokens"] as! [[String]]
    let texts = try FixtureStrings().texts
    for (i, want) in toks.enumerated() { XCTAssertEqual(try tok.encode(texts[i]).tokens, want) }
  }
}

extension GPT2ParityTests {
  /// The ids-only fast path agrees with the full pipeline.
  func testFastPathMatchesFullEncode() throws {
    let tok = try gpt2()
    for t in try FixtureStrings().texts + ["<|endoftext|>a<|endoftext|> b"] {
      XCTAssertEqual(tok.encodeIds(t), try tok.encode(t).ids, t)
    }
  }
}

extension GPT2ParityTests {
  /// Long words take the heap path; it must agree with the quadratic one, and stay fast.
  func testLongWordsMergeLikeShortOnes() throws {
    let tok = try gpt2()
    guard case .bpe(let bpe) = tok.model else { return XCTFail() }
    for text in try FixtureStrings().texts where text.utf8.count > 48 {
      var ids = Array(text.utf8).map { bpe.byteIds[Int($0)] }
      var lens = [Int32](repeating: 1, count: ids.count)
      var ids2 = ids
      var lens2 = lens
      bpe.applyMergesLong(&ids, &lens)
      // Reference: the leftmost lowest-rank pair, one merge at a time.
      while ids2.count > 1 {
        var best = (UInt64.max, -1, UInt32(0))
        for i in 0..<(ids2.count - 1) {
          if let v = bpe.mergeMap.get(PairMap.key(ids2[i], ids2[i + 1])), v >> 32 < best.0 {
            best = (v >> 32, i, UInt32(truncatingIfNeeded: v))
          }
        }
        if best.1 < 0 { break }
        ids2[best.1] = best.2
        lens2[best.1] += lens2[best.1 + 1]
        ids2.remove(at: best.1 + 1)
        lens2.remove(at: best.1 + 1)
      }
      XCTAssertEqual(ids, ids2, text)
      XCTAssertEqual(lens, lens2, text)
    }
    let t0 = Date()
    let big = String(repeating: "a", count: 200_000) + " " + String(repeating: "=", count: 100_000)
    XCTAssertEqual(tok.decode(tok.encodeIds(big)), big)
    XCTAssertLessThan(Date().timeIntervalSince(t0), 5)
  }
}
