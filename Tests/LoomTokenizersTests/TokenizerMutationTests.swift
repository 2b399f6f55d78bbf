import Foundation
import XCTest

@testable import LoomTokenizers

/// Seeded mutation of real tokenizer files (≥ 300 mutants a kind): every mutant loads and
/// encodes/decodes, or throws an error naming its file. A trap would kill the test run.
final class TokenizerMutationTests: XCTestCase {
  var dir = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "loom-mut-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  /// SplitMix64: the same mutants on every machine.
  struct Rng {
    var s: UInt64
    mutating func next() -> UInt64 {
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
  }

  static let hostile = [
    "-1", "4294967295", "4294967296", "2147483647", "9223372036854775807", "1e30", "-0.5", "1.5",
    "true", "false", "null", "\"\"", "\"x\"", "[]", "{}", "[1,2]", "{\"a\":1}", "NaN",
    "\"\\u0000\"",
    "18446744073709551616", "0", "4294967294",
  ]

  /// One mutation: flip/insert/delete bytes, swap a number or literal for a hostile value,
  /// duplicate or cut a span, or truncate.
  static func mutate(_ src: [UInt8], _ r: inout Rng) -> [UInt8] {
    var b = src
    let rounds = 1 + r.below(3)
    for _ in 0..<rounds where !b.isEmpty {
      let i = r.below(b.count)
      switch r.below(8) {
      case 0: b[i] ^= UInt8(1 << r.below(8))
      case 1: b.insert(UInt8(r.below(256)), at: i)
      case 2: b.removeSubrange(i..<min(b.count, i + 1 + r.below(16)))
      case 3, 4:
        // Replace the token (number, literal or string) at a random place.
        var s = i
        while s < b.count,
          !(b[s] == 0x2D || (b[s] >= 0x30 && b[s] <= 0x39) || b[s] == 0x22 || b[s] == 0x74
            || b[s] == 0x66 || b[s] == 0x6E)
        { s += 1 }
        guard s < b.count else { continue }
        var e = s + 1
        if b[s] == 0x22 {
          while e < b.count && b[e] != 0x22 { e += 1 }
          e = min(e + 1, b.count)
        } else {
          while e < b.count,
            (b[e] >= 0x30 && b[e] <= 0x39) || b[e] == 0x2E || b[e] == 0x65
              || (b[e] >= 0x61 && b[e] <= 0x7A)
          { e += 1 }
        }
        b.replaceSubrange(s..<e, with: Array(hostile[r.below(hostile.count)].utf8))
      case 5:
        let e = min(b.count, i + 1 + r.below(64))
        b.insert(contentsOf: Array(b[i..<e]), at: r.below(b.count))
      case 6: b.removeSubrange(i..<b.count)
      default:
        // A space or newline in the wrong place (merges.txt / vocab.txt structure).
        b.insert([0x20, 0x0A, 0x0D, 0x09, 0x00][r.below(5)], at: i)
      }
    }
    return b
  }

  static let probes = [
    "int main(void) { return wolfSSL_Init(); }", "Héllo WÖRLD 日本語 ", "a\u{0}b\n\nc", "",
    " <mask> [MASK]",
  ]

  /// Loads each mutant with `load`; a loaded tokenizer must encode, pair-encode with
  /// truncation and stride, and decode the probes.
  func run(
    _ kind: String, source: String, seed: UInt64, load: (String) throws -> Tokenizer
  ) throws {
    // LOOM_MUTATION_CASES / LOOM_MUTATION_SEED: a longer or fresh round (defaults: 320, fixed).
    let env = ProcessInfo.processInfo.environment
    let count = env["LOOM_MUTATION_CASES"].flatMap { Int($0) } ?? 320
    let extra = env["LOOM_MUTATION_SEED"].flatMap { UInt64($0) } ?? 0
    let src = Array(try Data(contentsOf: URL(fileURLWithPath: source)))
    var r = Rng(s: seed &+ extra &* 1000)
    var loaded = 0
    var refused = 0
    for n in 0..<count {
      let path = dir + "/\(kind)"
      try Data(Self.mutate(src, &r)).write(to: URL(fileURLWithPath: path))
      do {
        let t = try load(path)
        loaded += 1
        for p in Self.probes {
          let e = try? t.encode(p, pair: "second text")
          _ = t.decode(e?.ids ?? [], skipSpecialTokens: false)
          _ = try? t(
            [p], pairs: ["pair"], padding: .longest, truncation: .longestFirst, maxLength: 8,
            stride: 2, returnOverflowingTokens: true)
        }
      } catch {
        refused += 1
        let m = "\(error)"
        XCTAssertTrue(
          m.contains(kind) || m.contains(dir),
          "\(kind) mutant \(n): error does not name the file: \(m)")
      }
    }
    XCTAssertGreaterThan(refused, 0, "\(kind): no mutant was refused")
    XCTAssertGreaterThan(loaded, 0, "\(kind): no mutant loaded")
  }

  func testTokenizerJSONMutants() throws {
    try run("tokenizer.json", source: fixturePath("pipelines/bpe_nfkc_split_roberta.json"), seed: 1)
    {
      try Tokenizer.load(tokenizerJSON: $0)
    }
  }

  func testSavedRobertaTokenizerJSONMutants() throws {
    try run("tokenizer.json", source: fixturePath("encoders/roberta_saved/tokenizer.json"), seed: 2)
    {
      try Tokenizer.load(tokenizerJSON: $0)
    }
  }

  func testVocabJSONMutants() throws {
    let merges = fixturePath("train/c_600/merges.txt")
    try run("vocab.json", source: fixturePath("train/c_600/vocab.json"), seed: 3) {
      try Tokenizer.byteLevelBPE(vocab: $0, merges: merges)
    }
  }

  func testMergesTxtMutants() throws {
    let vocab = fixturePath("train/c_600/vocab.json")
    try run("merges.txt", source: fixturePath("train/c_600/merges.txt"), seed: 4) {
      try Tokenizer.byteLevelBPE(vocab: vocab, merges: $0)
    }
  }

  func testVocabTxtMutants() throws {
    // A small BERT vocabulary: specials, letters, pieces.
    let words =
      ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
      + "abcdefghijklmnopqrstuvwxyz".map { String($0) }
      + ["##s", "##ing", "the", "int", "main", "return", "wolf", "##ssl", "日", "!", ".", "(", ")"]
    let src = dir + "/src-vocab.txt"
    try (words.joined(separator: "\n") + "\n").write(toFile: src, atomically: true, encoding: .utf8)
    try run("vocab.txt", source: src, seed: 5) { p in
      let d = self.dir + "/vt"
      try? FileManager.default.removeItem(atPath: d)
      try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
      try FileManager.default.copyItem(atPath: p, toPath: d + "/vocab.txt")
      try #"{"tokenizer_class": "BertTokenizer"}"#.write(
        toFile: d + "/tokenizer_config.json", atomically: true, encoding: .utf8)
      return try Tokenizer.fromPretrained(d)
    }
  }

  func testSpecialTokensMapMutants() throws {
    let r = fixturePath("encoders/roberta")
    let src = dir + "/src-map.json"
    try """
    {"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>",
     "mask_token": {"content": "<mask>", "lstrip": true, "rstrip": false}, "pad_token": "<pad>",
     "sep_token": "</s>", "unk_token": "<unk>", "additional_special_tokens": ["<x>", "<y>"]}
    """.write(toFile: src, atomically: true, encoding: .utf8)
    try run("special_tokens_map.json", source: src, seed: 7) { p in
      let d = self.dir + "/sm"
      try? FileManager.default.removeItem(atPath: d)
      try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
      for f in ["vocab.json", "merges.txt"] {
        try FileManager.default.copyItem(atPath: r + "/" + f, toPath: d + "/" + f)
      }
      try FileManager.default.copyItem(atPath: p, toPath: d + "/special_tokens_map.json")
      return try Tokenizer.fromPretrained(d)
    }
  }

  func testTokenizerConfigMutants() throws {
    let r = fixturePath("encoders/roberta")
    let src = dir + "/src-config.json"
    try """
    {"add_prefix_space": false, "bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>",
     "mask_token": {"content": "<mask>", "lstrip": true}, "model_max_length": 512,
     "pad_token": "<pad>", "sep_token": "</s>", "tokenizer_class": "RobertaTokenizer",
     "trim_offsets": true, "unk_token": "<unk>", "additional_special_tokens": ["<x>"]}
    """.write(toFile: src, atomically: true, encoding: .utf8)
    try run("tokenizer_config.json", source: src, seed: 6) { p in
      let d = self.dir + "/tc"
      try? FileManager.default.removeItem(atPath: d)
      try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
      for f in ["vocab.json", "merges.txt"] {
        try FileManager.default.copyItem(atPath: r + "/" + f, toPath: d + "/" + f)
      }
      try FileManager.default.copyItem(atPath: p, toPath: d + "/tokenizer_config.json")
      return try Tokenizer.fromPretrained(d)
    }
  }
}
