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
        let la = String(decoding: a, as: UTF8.self).split(separator: "\n"), lb = String(decoding: b, as: UTF8.self).split(separator: "\n")
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
      let hf = try String(contentsOfFile: fixturePath("train/\(corpus)_600/tokenizer.json"), encoding: .utf8)
      XCTAssertEqual(mine, hf, corpus)
      // And it loads back to the same thing.
      let path = NSTemporaryDirectory() + "loom-tj-\(getpid()).json"
      try mine.write(toFile: path, atomically: true, encoding: .utf8)
      defer { try? FileManager.default.removeItem(atPath: path) }
      XCTAssertEqual(try Tokenizer.load(tokenizerJSON: path).jsonString(), hf)
    }
  }
}
