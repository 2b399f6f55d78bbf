import Foundation
import LoomCore
import XCTest

@testable import LoomTrain

final class CollatorTests: XCTestCase {
  func ints(_ t: Tensor?) -> [Int] { t!.toArray(Int64.self).map(Int.init) }

  func testPaddingCollatorForClassification() throws {
    let c = DataCollatorWithPadding(padTokenId: 0, padToMultipleOf: 4)
    let b = try c([
      ["input_ids": [101, 7, 102], "token_type_ids": [0, 0, 0], "label": [1]],
      ["input_ids": [101, 7, 8, 9, 102], "token_type_ids": [0, 0, 0, 1, 1], "label": [0]],
    ])
    XCTAssertEqual(b.inputIds!.shape, [2, 8])
    XCTAssertEqual(ints(b.inputIds), [101, 7, 102, 0, 0, 0, 0, 0, 101, 7, 8, 9, 102, 0, 0, 0])
    XCTAssertEqual(ints(b.attentionMask), [1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0])
    XCTAssertEqual(ints(b.tokenTypeIds), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0])
    XCTAssertEqual(b.labels.shape, [2])
    XCTAssertEqual(ints(b.labels), [1, 0])
    XCTAssertThrowsError(try c([["input_ids": [1]], ["input_ids": [1], "label": [0]]]))
    XCTAssertThrowsError(try c([["text_ids": [1]]])) { e in
      XCTAssertTrue("\(e)".contains("no 'input_ids'"), "\(e)")
    }
  }

  func testTokenClassificationPadsLabelsWithIgnoreIndex() throws {
    let c = DataCollatorForTokenClassification(padTokenId: 1)
    let b = try c([
      ["input_ids": [0, 5, 2], "labels": [-100, 3, -100]],
      ["input_ids": [0, 5, 6, 7, 2], "labels": [-100, 1, 2, 2, -100]],
    ])
    XCTAssertEqual(ints(b.inputIds), [0, 5, 2, 1, 1, 0, 5, 6, 7, 2])
    XCTAssertEqual(ints(b.labels), [-100, 3, -100, -100, -100, -100, 1, 2, 2, -100])
    XCTAssertEqual(b.labels.shape, [2, 5])
  }

  /// Masking statistics over many draws: 15 % of maskable tokens selected, of those 80 %
  /// [MASK], 10 % random, 10 % unchanged, each within 4.5 binomial standard deviations;
  /// special tokens and padding never selected.
  func testMLMMaskingStatistics() throws {
    let vocab = 30_000
    let (pad, cls, sep, mask) = (0, 101, 102, 103)
    let c = try DataCollatorForLanguageModeling(
      padTokenId: pad, maskTokenId: mask, vocabSize: vocab, specialTokenIds: [pad, cls, sep, mask, 100],
      seed: 7)
    var rng = SystemRandomNumberGenerator()
    var maskable = 0, selected = 0, asMask = 0, asRandom = 0, kept = 0
    for _ in 0..<40 {
      let examples: [Features] = (0..<32).map { _ in
        let n = Int.random(in: 20...126, using: &rng)
        return ["input_ids": [cls] + (0..<n).map { _ in Int.random(in: 1000..<vocab, using: &rng) } + [sep]]
      }
      let b = try c(examples)
      let ids = ints(b.inputIds), labels = ints(b.labels), am = ints(b.attentionMask)
      let L = b.inputIds!.shape[1]
      for (e, ex) in examples.enumerated() {
        let orig = ex["input_ids"]!
        for i in 0..<L {
          let k = e * L + i
          if i >= orig.count {
            XCTAssertEqual(am[k], 0)
            XCTAssertEqual(labels[k], -100)
            XCTAssertEqual(ids[k], pad)
            continue
          }
          if orig[i] == cls || orig[i] == sep {
            XCTAssertEqual(labels[k], -100)
            XCTAssertEqual(ids[k], orig[i])
            continue
          }
          maskable += 1
          if labels[k] == -100 {
            XCTAssertEqual(ids[k], orig[i])
            continue
          }
          XCTAssertEqual(labels[k], orig[i])
          selected += 1
          if ids[k] == mask { asMask += 1 } else if ids[k] == orig[i] { kept += 1 } else { asRandom += 1 }
        }
      }
    }
    func within(_ k: Int, _ n: Int, _ p: Double, _ what: String) {
      let sd = (Double(n) * p * (1 - p)).squareRoot()
      XCTAssertLessThan(abs(Double(k) - Double(n) * p), 4.5 * sd, "\(what): \(k) of \(n), expected p=\(p)")
    }
    XCTAssertGreaterThan(maskable, 90_000)
    within(selected, maskable, 0.15, "selected")
    within(asMask, selected, 0.8, "[MASK]")
    within(asRandom, selected, 0.1, "random")
    within(kept, selected, 0.1, "kept")
  }

  func testMLMIsSeededAndHonoursSpecialTokensMask() throws {
    func make() throws -> DataCollatorForLanguageModeling {
      try DataCollatorForLanguageModeling(
        padTokenId: 1, maskTokenId: 4, vocabSize: 50, specialTokenIds: [0, 1, 2, 3, 4],
        mlmProbability: 1.0, maskReplaceProb: 1.0, randomReplaceProb: 0, seed: 3)
    }
    let ex: [Features] = [
      ["input_ids": [0, 10, 11, 12, 2], "special_tokens_mask": [1, 0, 1, 0, 1]],
      ["input_ids": [0, 13, 2], "special_tokens_mask": [1, 0, 1]],
    ]
    // Probability 1, all [MASK]: exactly the non-special, non-padding tokens.
    let b = try make()(ex)
    XCTAssertEqual(ints(b.inputIds), [0, 4, 11, 4, 2, 0, 4, 2, 1, 1])
    XCTAssertEqual(ints(b.labels), [-100, 10, -100, 12, -100, -100, 13, -100, -100, -100])
    XCTAssertNil(b["special_tokens_mask"])
    // Same seed, same masks; causal mode labels = inputs with padding ignored.
    let p = try DataCollatorForLanguageModeling(
      padTokenId: 1, maskTokenId: 4, vocabSize: 50, specialTokenIds: [], seed: 9)
    let q = try DataCollatorForLanguageModeling(
      padTokenId: 1, maskTokenId: 4, vocabSize: 50, specialTokenIds: [], seed: 9)
    let big: [Features] = [["input_ids": Array(5..<45)]]
    XCTAssertEqual(ints(try p(big).inputIds), ints(try q(big).inputIds))
    p.mlm = false
    XCTAssertEqual(ints(try p(ex).labels), [0, 10, 11, 12, 2, 0, 13, 2, -100, -100])
    XCTAssertThrowsError(
      try DataCollatorForLanguageModeling(
        padTokenId: 0, maskTokenId: 4, vocabSize: 50, specialTokenIds: [], maskReplaceProb: 0.95,
        randomReplaceProb: 0.1))
  }

  func testWholeWordMaskMasksWholeWords() throws {
    // ids 20..39 words; continuation ids 40..59 ("##x").
    let c = try DataCollatorForWholeWordMask(
      padTokenId: 0, maskTokenId: 3, vocabSize: 60, specialTokenIds: [0, 1, 2, 3],
      continuationTokenIds: Set(40..<60), mlmProbability: 0.3, maskReplaceProb: 1, randomReplaceProb: 0,
      seed: 5)
    var sawMultiTokenWord = false
    for _ in 0..<50 {
      let seq = [1, 20, 40, 41, 21, 22, 42, 23, 24, 43, 2]
      let b = try c([["input_ids": seq]])
      let labels = ints(b.labels)
      // Words: [1,2,3], [4], [5,6], [7], [8,9]: each all masked or none.
      for w in [[1, 2, 3], [4], [5, 6], [7], [8, 9]] {
        let m = w.map { labels[$0] != -100 }
        XCTAssertTrue(m.allSatisfy { $0 } || m.allSatisfy { !$0 }, "word \(w) partly masked: \(labels)")
        if w.count > 1 && m[0] { sawMultiTokenWord = true }
      }
      // round(11 · 0.3) = 3 tokens at most, at least one word.
      let n = labels.filter { $0 != -100 }.count
      XCTAssertTrue((1...3).contains(n), "\(n)")
      XCTAssertEqual(labels[0], -100)
      XCTAssertEqual(labels[10], -100)
    }
    XCTAssertTrue(sawMultiTokenWord)
    // From word ids instead of "##".
    let w = try c([["input_ids": [1, 30, 31, 32, 2], "word_ids": [-1, 0, 0, 0, -1]]])
    XCTAssertNil(w["word_ids"])
    XCTAssertEqual(ints(w.labels), [-100, -100, -100, -100, -100])  // the 3-token word exceeds round(5·0.3)=2
  }

  func testFloatLabelsForRegressionAndMultiLabel() throws {
    let c = try DataCollatorWithFloatLabels(padTokenId: 0, targets: [[0.5], [-1.25], [2]])
    let b = try c([["input_ids": [5, 6, 7], "label_row": [2]], ["input_ids": [8], "label_row": [0]]])
    XCTAssertEqual(ints(b.inputIds), [5, 6, 7, 8, 0, 0])
    XCTAssertEqual(b.labels.dtype, .float32)
    XCTAssertEqual(b.labels.shape, [2])
    XCTAssertEqual(b.labels.floats, [2, 0.5])
    XCTAssertNil(b["label_row"])
    let m = try DataCollatorWithFloatLabels(padTokenId: 0, targets: [[1, 0, 1], [0, 1, 0]])
    let mb = try m([["input_ids": [5], "label_row": [1]], ["input_ids": [6], "label_row": [0]]])
    XCTAssertEqual(mb.labels.shape, [2, 3])
    XCTAssertEqual(mb.labels.floats, [0, 1, 0, 1, 0, 1])
    XCTAssertThrowsError(try m([["input_ids": [5], "label_row": [7]]]))
    XCTAssertThrowsError(try m([["input_ids": [5]]]))
    XCTAssertThrowsError(try DataCollatorWithFloatLabels(padTokenId: 0, targets: [[1], [1, 2]]))
  }

  /// A one-letter relative output directory trapped in Foundation's path code.
  func testOutputDirectoryCheckTakesShortRelativePaths() throws {
    let cwd = FileManager.default.currentDirectoryPath
    let tmp = NSTemporaryDirectory() + "loom-outdir-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer {
      _ = FileManager.default.changeCurrentDirectoryPath(cwd)
      try? FileManager.default.removeItem(atPath: tmp)
    }
    XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(tmp))
    for d in ["o", "o/p", "./o", "ab"] { XCTAssertNoThrow(try Trainer.checkCreatable(d), d) }
    try "x".write(toFile: tmp + "/f", atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try Trainer.checkCreatable("f/o"))
  }

  func testNextSentencePairs() throws {
    let docs: [[[Int]]] = (0..<20).map { d in (0..<8).map { s in (0..<Int.random(in: 3...9)).map { _ in 1000 * d + s } } }
    let nsp = try NextSentencePairs(blockSize: 32, clsTokenId: 101, sepTokenId: 102)
    let ex = try nsp.examples(documents: docs, seed: 1)
    XCTAssertGreaterThan(ex.count, 40)
    var random = 0
    for e in ex {
      let ids = e["input_ids"]!, tt = e["token_type_ids"]!
      XCTAssertLessThanOrEqual(ids.count, 32)
      XCTAssertEqual(ids.first, 101)
      XCTAssertEqual(ids.last, 102)
      let sep = ids.firstIndex(of: 102)!
      XCTAssertEqual(tt, [Int](repeating: 0, count: sep + 1) + [Int](repeating: 1, count: ids.count - sep - 1))
      let a = ids[1..<sep], b = ids[(sep + 1)..<(ids.count - 1)]
      XCTAssertFalse(a.isEmpty)
      XCTAssertFalse(b.isEmpty)
      let docA = a.first! / 1000, docB = b.first! / 1000
      let label = e["next_sentence_label"]![0]
      // 0 = continuation: B follows A in the same document; 1 = another document.
      if label == 0 {
        XCTAssertEqual(docA, docB)
        XCTAssertGreaterThan(b.first! % 1000, a.last! % 1000)
      } else {
        XCTAssertNotEqual(docA, docB)
        random += 1
      }
    }
    XCTAssertGreaterThan(random, ex.count / 4)
    XCTAssertLessThan(random, ex.count * 3 / 4)
    XCTAssertEqual(try nsp.examples(documents: docs, seed: 1), ex)
    XCTAssertThrowsError(try nsp.examples(documents: [[[1, 2]]]))
  }

  func testCollatedDatasetBatches() throws {
    let ds = try CollatedDataset(
      examples: [["input_ids": [5, 6], "label": [1]], ["input_ids": [7], "label": [0]]],
      collator: DataCollatorWithPadding(padTokenId: 0))
    XCTAssertEqual(ds.count, 2)
    XCTAssertEqual(ints(ds.batch([1, 0]).inputIds), [7, 0, 5, 6])
    XCTAssertThrowsError(
      try CollatedDataset(
        examples: [["input_ids": [5]], ["input_ids": [7], "label": [0]]],
        collator: DataCollatorWithPadding(padTokenId: 0)))
  }
}
