import Foundation
import XCTest

@testable import LoomTokenizers

/// BERT (MiniLM's WordPiece) and RoBERTa (byte-level BPE trained by HF on wolfSSL) loaded the
/// AutoTokenizer way, against what HF's `tokenizer(…)` returns: ids, type ids, masks, offsets,
/// word ids, sequence ids, overflow windows and overflow_to_sample_mapping
/// (scripts/fixtures/make_encoder_tokenizer_fixtures.py).
final class EncoderTokenizerParityTests: XCTestCase {
  static let minilmConfig = """
    {"do_lower_case": true, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", \
    "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": true, \
    "strip_accents": null, "tokenizer_class": "BertTokenizer", "model_max_length": 512}
    """
  var tmp = ""

  override func setUpWithError() throws {
    tmp = NSTemporaryDirectory() + "loom-enc-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: tmp) }

  /// A directory of `files` (copied) plus a tokenizer_config.json.
  func dir(_ name: String, copying files: [String], config: String) throws -> String {
    let d = tmp + "/" + name
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    for f in files {
      try FileManager.default.copyItem(
        atPath: f, toPath: d + "/" + (f as NSString).lastPathComponent)
    }
    try config.write(toFile: d + "/tokenizer_config.json", atomically: true, encoding: .utf8)
    return d
  }

  func bertDir(_ config: String = minilmConfig) throws -> String {
    try dir("bert", copying: [try requireAsset("minilm/vocab.txt")], config: config)
  }

  func testRobertaFromVocabFiles() throws {
    try check(
      try Tokenizer.fromPretrained(fixturePath("encoders/roberta")), "roberta_encodings.json")
  }

  func testRobertaFromSavedTokenizerJSON() throws {
    try check(
      try Tokenizer.fromPretrained(fixturePath("encoders/roberta_saved")), "roberta_encodings.json")
  }

  func testRobertaAddPrefixSpace() throws {
    let r = fixturePath("encoders/roberta")
    let d = try dir(
      "rp", copying: [r + "/vocab.json", r + "/merges.txt"],
      config: #"{"tokenizer_class": "RobertaTokenizer", "add_prefix_space": true}"#)
    try check(try Tokenizer.fromPretrained(d), "roberta_prefix_encodings.json")
  }

  func testBertFromVocabTxt() throws {
    try check(try Tokenizer.fromPretrained(try bertDir()), "bert_encodings.json")
  }

  func testBertFromTokenizerJSON() throws {
    let d = try dir(
      "bj", copying: [try requireAsset("minilm/tokenizer.json")], config: Self.minilmConfig)
    try check(try Tokenizer.fromPretrained(d), "bert_encodings.json")
  }

  /// do_lower_case false, strip_accents true, tokenize_chinese_chars false.
  func testBertCasedStripAccentsNoCJK() throws {
    let cfg = Self.minilmConfig.replacingOccurrences(
      of: "\"do_lower_case\": true", with: "\"do_lower_case\": false"
    )
    .replacingOccurrences(of: "\"strip_accents\": null", with: "\"strip_accents\": true")
    .replacingOccurrences(
      of: "\"tokenize_chinese_chars\": true", with: "\"tokenize_chinese_chars\": false")
    try check(try Tokenizer.fromPretrained(try bertDir(cfg)), "bert_cased_encodings.json")
  }

  /// save_pretrained then from_pretrained gives the same tokenizer (and names its class).
  func testSaveAndReloadPretrained() throws {
    for (src, fx) in [
      (fixturePath("encoders/roberta"), "roberta_encodings.json"),
      (try bertDir(), "bert_encodings.json"),
    ] {
      let t = try Tokenizer.fromPretrained(src)
      let out = tmp + "/saved-" + (fx as NSString).deletingPathExtension
      try t.savePretrained(out)
      for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
      }
      let cfg =
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: URL(fileURLWithPath: out + "/tokenizer_config.json")))
        as! [String: Any]
      XCTAssertEqual(
        cfg["tokenizer_class"] as? String,
        fx.hasPrefix("bert") ? "BertTokenizer" : "RobertaTokenizer")
      XCTAssertEqual(cfg["model_max_length"] as? Int, 512)
      try check(try Tokenizer.fromPretrained(out), fx)
    }
  }

  /// `pad` (HF's tokenizer.pad) and `withSpecialTokens` agree with encoding in one call.
  func testPadAndWithSpecialTokensMatchCall() throws {
    for t in [
      try Tokenizer.fromPretrained(fixturePath("encoders/roberta")),
      try Tokenizer.fromPretrained(try bertDir()),
    ] {
      let texts = ["int x = 1;", "wolfSSL_CTX_new(wolfTLSv1_3_client_method());", "a"]
      let one = try texts.map { try t($0)[0] }
      let padded = try t.pad(one, padToMultipleOf: 8)
      XCTAssertEqual(padded, try t(texts, padding: .longest, padToMultipleOf: 8).encodings)
      let longest = one.map(\.count).max()!
      XCTAssertEqual(padded.map(\.count), Array(repeating: (longest + 7) / 8 * 8, count: 3))
      XCTAssertEqual(
        padded[2].attentionMask.filter { $0 == 0 }.count, padded[2].count - one[2].count)
      XCTAssertEqual(padded[2].ids.last, t.padTokenId)
      let a = try t(texts[0], addSpecialTokens: false)[0].ids
      let b = try t(texts[1], addSpecialTokens: false)[0].ids
      let w = t.withSpecialTokens(a, pair: b)
      let want = try t(texts[0], pair: texts[1])[0]
      XCTAssertEqual(w.ids, want.ids)
      XCTAssertEqual(w.typeIds, want.typeIds)
      XCTAssertEqual(w.specialTokensMask, want.specialTokensMask)
      XCTAssertEqual(w.sequenceIds, want.sequenceIds)
      XCTAssertEqual(t.withSpecialTokens(a).ids, try t(texts[0])[0].ids)
    }
  }

  /// Loom's data directory holds MiniLM without tokenizer_config.json: the names come from the
  /// vocabulary, and the file's own padding/truncation (128) do not leak into calls.
  func testMiniLMDataDirectory() throws {
    let d = (try requireAsset("minilm/tokenizer.json") as NSString).deletingLastPathComponent
    let t = try Tokenizer.fromPretrained(d)
    XCTAssertEqual(
      [t.padTokenId, t.unkTokenId, t.clsTokenId, t.sepTokenId, t.maskTokenId],
      [0, 100, 101, 102, 103])
    XCTAssertNil(t.bosTokenId)
    XCTAssertNil(t.modelMaxLength)
    let e = try t("Hello world")
    XCTAssertEqual(e[0].ids, [101, 7592, 2088, 102])
    XCTAssertEqual(e[0].wordIds, [nil, 0, 1, nil])
    XCTAssertEqual(t.resolvedTokenizerClass, "BertTokenizer")
  }

  func testBadCallArgumentsThrow() throws {
    let t = try Tokenizer.fromPretrained(fixturePath("encoders/roberta"))
    XCTAssertThrowsError(try t(["a", "b"], pairs: ["c"]))
    XCTAssertThrowsError(try t(["a"], truncation: .longestFirst, maxLength: -1))
    XCTAssertThrowsError(try t(["a"], stride: -1))
    XCTAssertThrowsError(
      try t(["int main(void) { return 0; }"], truncation: .longestFirst, maxLength: 4, stride: 4))
    t.specialTokens.pad = nil
    XCTAssertThrowsError(try t(["a", "bb"], padding: .longest))
  }

  // MARK: comparison

  func check(_ tok: Tokenizer, _ name: String, file: StaticString = #filePath, line: UInt = #line)
    throws
  {
    try Self.check(tok, name, file: file, line: line)
  }

  static func check(
    _ tok: Tokenizer, _ name: String, file: StaticString = #filePath, line: UInt = #line
  )
    throws
  {
    let d = try fixture("encoders/" + name) as! [String: Any]
    let texts = d["texts"] as! [String]
    let pairs = (d["pairs"] as! [[String]]).map { ($0[0], $0[1]) }
    let long = d["long_texts"] as! [String]
    let qa = (d["qa"] as! [[String]]).map { ($0[0], $0[1]) }
    let sp = d["specials"] as! [String: Any]
    func id(_ k: String) -> Int? { sp[k] as? Int }
    XCTAssertEqual(tok.padTokenId.map(Int.init), id("pad_token_id"), file: file, line: line)
    XCTAssertEqual(tok.clsTokenId.map(Int.init), id("cls_token_id"), file: file, line: line)
    XCTAssertEqual(tok.sepTokenId.map(Int.init), id("sep_token_id"), file: file, line: line)
    XCTAssertEqual(tok.maskTokenId.map(Int.init), id("mask_token_id"), file: file, line: line)
    XCTAssertEqual(tok.unkTokenId.map(Int.init), id("unk_token_id"), file: file, line: line)
    XCTAssertEqual(tok.bosTokenId.map(Int.init), id("bos_token_id"), file: file, line: line)
    XCTAssertEqual(tok.eosTokenId.map(Int.init), id("eos_token_id"), file: file, line: line)
    XCTAssertEqual(tok.modelMaxLength, sp["model_max_length"] as? Int, file: file, line: line)

    func same(_ got: () throws -> BatchEncoding, _ want: Any?, _ label: String) {
      guard let w = want as? [String: Any] else { return }  // variant not in a smaller fixture
      let result = Result { try got() }
      if w["error"] != nil {
        if case .success = result {
          XCTFail("\(label): HF refused, Loom did not", file: file, line: line)
        }
        return
      }
      guard case .success(let be) = result else {
        XCTFail("\(label): \(result)", file: file, line: line)
        return
      }
      compare(be, w, label, file: file, line: line)
    }
    let a = pairs.map(\.0)
    let b = pairs.map(\.1)
    same({ try tok(texts) }, d["single"], "\(name) single")
    let decoded = d["decoded"] as! [String]
    let single = try tok(texts)
    for i in texts.indices {
      XCTAssertEqual(
        tok.decode(single[i].ids), decoded[i], "\(name) decode #\(i)", file: file, line: line)
    }
    same({ try tok(a, pairs: b) }, d["pair_plain"], "\(name) pairs")
    for (key, strat) in [
      ("pair_longest_first", TruncationStrategy.longestFirst), ("pair_only_first", .onlyFirst),
      ("pair_only_second", .onlySecond),
    ] {
      for (i, w) in (d[key] as? [Any] ?? []).enumerated() {
        same(
          {
            try tok(
              [a[i]], pairs: [b[i]], truncation: strat, maxLength: 24, stride: 3,
              returnOverflowingTokens: true)
          }, w, "\(name) \(key) #\(i)")
      }
    }
    same(
      {
        try tok(
          long, padding: .longest, truncation: .longestFirst, maxLength: 32, stride: 8,
          returnOverflowingTokens: true)
      }, d["long_stride"], "\(name) long stride")
    same(
      {
        try tok(
          qa.map(\.0), pairs: qa.map(\.1), padding: .maxLength, truncation: .onlySecond,
          maxLength: 64, stride: 16, returnOverflowingTokens: true)
      }, d["qa_only_second"], "\(name) qa")
    let first20 = Array(texts.prefix(20))
    same(
      { try tok(first20, padding: .longest, padToMultipleOf: 8) }, d["pad_longest_m8"],
      "\(name) pad m8")
    same(
      {
        try tok(
          first20, padding: .maxLength, truncation: .longestFirst, maxLength: 20, paddingLeft: true)
      },
      d["pad_max_left"], "\(name) pad left")
    same(
      { try tok(Array(texts.prefix(30)), addSpecialTokens: false) }, d["no_specials"],
      "\(name) no specials")
  }

  static func compare(
    _ be: BatchEncoding, _ w: [String: Any], _ label: String, file: StaticString, line: UInt
  ) {
    let rows = w["rows"] as! [[String: Any]]
    XCTAssertEqual(be.count, rows.count, "\(label): rows", file: file, line: line)
    if let m = w["overflow_to_sample_mapping"] as? [Int] {
      XCTAssertEqual(
        be.overflowToSampleMapping, m, "\(label): overflow_to_sample_mapping", file: file,
        line: line)
    }
    func ints(_ x: Any?) -> [Int]? { (x as? [NSNumber])?.map(\.intValue) }
    func opts(_ x: Any?) -> [Int?] { (x as! [Any]).map { ($0 as? NSNumber)?.intValue } }
    for (i, r) in rows.enumerated() where i < be.count {
      let e = be[i]
      let l = "\(label) row \(i)"
      let ids = ints(r["ids"])!
      XCTAssertEqual(e.ids.map(Int.init), ids, "\(l): ids", file: file, line: line)
      guard e.ids.map(Int.init) == ids else { continue }
      let n = ids.count
      XCTAssertEqual(
        e.offsets.flatMap { [$0.lowerBound, $0.upperBound] }, ints(r["offsets"])!, "\(l): offsets",
        file: file, line: line)
      XCTAssertEqual(e.wordIds, opts(r["word_ids"]), "\(l): word_ids", file: file, line: line)
      XCTAssertEqual(
        e.sequenceIds, opts(r["sequence_ids"]), "\(l): sequence_ids", file: file, line: line)
      XCTAssertEqual(
        e.typeIds.map(Int.init), ints(r["token_type_ids"]) ?? Array(repeating: 0, count: n),
        "\(l): token_type_ids", file: file, line: line)
      XCTAssertEqual(
        e.specialTokensMask.map(Int.init),
        ints(r["special_tokens_mask"]) ?? Array(repeating: 0, count: n),
        "\(l): special_tokens_mask", file: file, line: line)
      XCTAssertEqual(
        e.attentionMask.map(Int.init), ints(r["attention_mask"]) ?? Array(repeating: 1, count: n),
        "\(l): attention_mask", file: file, line: line)
    }
  }
}
