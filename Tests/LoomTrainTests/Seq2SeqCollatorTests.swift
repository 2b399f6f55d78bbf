import Foundation
import LoomCore
import LoomNN
import XCTest

@testable import LoomTrain

final class Seq2SeqCollatorTests: XCTestCase {
  func ints(_ t: Tensor?) -> [Int] { t!.toArray(Int64.self).map(Int.init) }

  func testSeq2SeqCollatorPadsAndShiftsLabels() throws {
    let c = DataCollatorForSeq2Seq(padTokenId: 1, decoderStartTokenId: 2)
    let b = try c([
      ["input_ids": [0, 7, 8, 2], "labels": [0, 9, 2]],
      ["input_ids": [0, 5, 2], "labels": [0, 4, 6, 7, 2]],
    ])
    XCTAssertEqual(b.inputIds!.shape, [2, 4])
    XCTAssertEqual(ints(b.inputIds), [0, 7, 8, 2, 0, 5, 2, 1])
    XCTAssertEqual(ints(b.attentionMask), [1, 1, 1, 1, 1, 1, 1, 0])
    XCTAssertEqual(b.labels.shape, [2, 5])
    XCTAssertEqual(ints(b.labels), [0, 9, 2, -100, -100, 0, 4, 6, 7, 2])
    // shift_tokens_right: the start token, then the labels with −100 → pad.
    XCTAssertEqual(ints(b.decoderInputIds), [2, 0, 9, 2, 1, 2, 0, 4, 6, 7])
    XCTAssertEqual(ints(b.decoderAttentionMask), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
    XCTAssertThrowsError(try c([["input_ids": [1, 2]]])) { e in
      XCTAssertTrue("\(e)".contains("needs 'input_ids' and 'labels'"), "\(e)")
    }
    XCTAssertThrowsError(try c([["input_ids": [], "labels": [3]]])) { e in
      XCTAssertTrue("\(e)".contains("empty source or target"), "\(e)")
    }
    let m = DataCollatorForSeq2Seq(padTokenId: 0, decoderStartTokenId: 0, padToMultipleOf: 4)
    XCTAssertEqual(try m([["input_ids": [5], "labels": [6, 7, 8, 9, 1]]]).labels.shape, [1, 8])
  }

  /// BART's noise on `<s> w1 … </s>` (ids 0 and 2 framing, mask 4, stops at 30).
  func noise(
    mask: Double = 0.3, random: Double = 0, delete: Double = 0, permute: Double = 0, rotate: Double = 0,
    length: BartDenoising.MaskLength = .spanPoisson, continuation: Set<Int> = []
  ) throws -> BartDenoising {
    try BartDenoising(
      maskTokenId: 4, vocabSize: 100, fullStopIds: [30], continuationTokenIds: continuation, maskRatio: mask,
      randomRatio: random, deleteRatio: delete, permuteSentenceRatio: permute, rotateRatio: rotate,
      maskLength: length)
  }

  let doc = [0] + Array(40..<60) + [2]

  func testTextInfillingReplacesEachSpanWithOneMask() throws {
    let n = try noise()
    var masks = 0
    var removed = 0
    for s in 0..<200 {
      let (source, target) = n.apply(doc, generator: ImageNoise.generator(seed: 1, epoch: 0, index: s))
      XCTAssertEqual(target, doc)
      XCTAssertEqual(source.first, 0)
      XCTAssertEqual(source.last, 2)
      // The kept tokens are the original ones in order; every gap holds exactly one mask.
      let kept = source.filter { $0 != 4 }
      XCTAssertEqual(kept, doc.filter { kept.contains($0) })
      masks += source.count { $0 == 4 }
      // ceil(20·0.3) = 6 tokens in spans (fewer where spans overlap or reach </s>).
      XCTAssertLessThanOrEqual(doc.count - kept.count, 6)
      removed += doc.count - kept.count
    }
    XCTAssertGreaterThan(removed, 200 * 5)
    // Spans of mean 3, one mask each, plus a mask for each 0-length span.
    XCTAssertEqual(Double(masks) / 200, 2.5, accuracy: 1)
  }

  func testFixedSeedOutputs() throws {
    let g = { ImageNoise.generator(seed: 42, epoch: 3, index: 5) }
    let infill = try noise().apply(doc, generator: g()).source
    // A 3-token span became one mask; a span from 58 ran into </s> and stopped there.
    XCTAssertEqual(infill, [0, 40, 41, 42, 43, 44, 45, 46, 47, 48, 4, 52, 53, 54, 55, 56, 57, 4, 2])
    let token = try noise(length: .subword).apply(doc, generator: g()).source
    XCTAssertEqual(token, [0, 40, 4, 4, 43, 44, 45, 46, 4, 48, 49, 50, 4, 52, 53, 4, 55, 56, 4, 58, 59, 2])
    XCTAssertEqual(token.count, doc.count)
    XCTAssertEqual(token.count { $0 == 4 }, 6)
    let sentences = [0, 41, 42, 30, 43, 30, 44, 45, 46, 30, 47, 2]
    let permuted = try noise(mask: 0, permute: 1).apply(sentences, generator: g()).source
    // Sentences [41 42 .] [43 .] [44 45 46 .] reordered; 47 (before </s>) stays, as in fairseq.
    XCTAssertEqual(permuted, [0, 43, 30, 41, 42, 30, 44, 45, 46, 30, 47, 2])
    XCTAssertEqual(permuted.sorted(), sentences.sorted())
    // Rotation: the body is a cyclic shift of the original (offsets 1 and n − 1 leave it as it is).
    let body = Array(doc[1..<21])
    var shifted = 0
    for i in 0..<20 {
      let rotated = try noise(mask: 0, rotate: 1).apply(doc, generator: Generator(seed: UInt64(i))).source
      XCTAssertEqual([rotated.first!, rotated.last!], [0, 2])
      let k = body.firstIndex(of: rotated[1])!
      XCTAssertEqual(Array(rotated[1..<21]), Array(body[k...] + body[..<k]))
      shifted += k == 0 ? 0 : 1
    }
    XCTAssertGreaterThan(shifted, 12)
    let deleted = try noise(mask: 0, delete: 0.25).apply(doc, generator: g()).source
    XCTAssertEqual(deleted, [0, 40, 43, 44, 45, 46, 48, 49, 50, 51, 52, 53, 55, 56, 58, 59, 2])
    XCTAssertEqual(deleted.count, doc.count - 5)
  }

  func testWholeWordsAndRandomTokens() throws {
    // 41, 43, 45, … continue the word before them: 10 words of two tokens.
    let n = try noise(length: .word, continuation: Set(stride(from: 41, to: 60, by: 2)))
    for s in 0..<50 {
      let source = n.apply(doc, generator: Generator(seed: UInt64(s))).source
      XCTAssertEqual(source.count, doc.count)
      for i in stride(from: 1, to: 21, by: 2) { XCTAssertEqual(source[i] == 4, source[i + 1] == 4, "seed \(s): \(source)") }
      XCTAssertEqual(source.count { $0 == 4 }, 6)  // ceil(10·0.3) = 3 words
    }
    let r = try noise(random: 1, length: .subword)
    let source = r.apply(doc, generator: Generator(seed: 3)).source
    XCTAssertEqual(source.count { $0 == 4 }, 0)
    XCTAssertEqual(zip(source, doc).count { $0 != $1 }, 6, "\(source)")
  }

  func testSentencePermutationOfOneSentenceKeepsTheDocument() throws {
    XCTAssertEqual(try noise(mask: 0, permute: 1).apply(doc, generator: Generator(seed: 1)).source, doc)
  }

  func testBadRatiosAreErrors() {
    XCTAssertThrowsError(try noise(mask: 1.5)) { e in XCTAssertTrue("\(e)".contains("mask_ratio must be in [0, 1]"), "\(e)") }
    XCTAssertThrowsError(try BartDenoising(maskTokenId: 100, vocabSize: 100, fullStopIds: [])) { e in
      XCTAssertTrue("\(e)".contains("outside the vocabulary"), "\(e)")
    }
  }

  /// Noise follows (seed, epoch, index): the same batch twice is identical, another epoch differs.
  func testDatasetNoiseIsSeededByEpochAndIndex() throws {
    let examples: [Features] = (0..<4).map { i in ["input_ids": [0] + Array((40 + i)..<(60 + i)) + [2]] }
    let d = try Seq2SeqDataset(
      examples: examples, noise: try noise(), collator: DataCollatorForSeq2Seq(padTokenId: 1, decoderStartTokenId: 2),
      seed: 5)
    let a = d.batch([0, 1, 2], epoch: 0), b = d.batch([0, 1, 2], epoch: 0), c = d.batch([0, 1, 2], epoch: 1)
    XCTAssertEqual(ints(a.inputIds), ints(b.inputIds))
    XCTAssertNotEqual(ints(a.inputIds), ints(c.inputIds))
    XCTAssertEqual(ints(a.labels), ints(c.labels))
    XCTAssertEqual(Array(ints(a.labels).prefix(22)), examples[0]["input_ids"]!)
    // One example's noise does not depend on its batch neighbours.
    XCTAssertEqual(try d.features([1], epoch: 0)[0], try d.features([0, 1], epoch: 0)[1])
  }
}
