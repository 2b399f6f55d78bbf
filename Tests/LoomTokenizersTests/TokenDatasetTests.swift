import Foundation
import XCTest

@testable import LoomTokenizers

final class TokenDatasetTests: XCTestCase {
  func testBuildReuseAndRead() throws {
    let cache = NSTemporaryDirectory() + "loom-ds-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: cache) }
    let corpus = fixturePath("train/prose_corpus.txt")
    let tok = try Tokenizer.byteLevelBPE(
      vocab: fixturePath("train/prose_20000/vocab.json"),
      merges: fixturePath("train/prose_20000/merges.txt"))
    var ds = TokenDataset(files: [corpus], unit: .lines, trainFraction: 0.9, seed: 42)
    ds.showProgress = false
    let a = try ds.build(tokenizer: tok, cacheDir: cache)
    XCTAssertFalse(a.reused)
    XCTAssertEqual(a.train.bytesPerToken, 2)
    // Every non-empty line lands in exactly one split, tokenized as the tokenizer does it.
    let text = try String(contentsOfFile: corpus, encoding: .utf8)
    let lines = text.split(separator: "\n").map(String.init)
    XCTAssertEqual(a.train.sequenceCount + a.validation.sequenceCount, lines.count)
    XCTAssertEqual(a.train.sequenceCount, Int((Double(lines.count) * 0.9).rounded()))
    var expected = [[UInt32]: Int]()
    for l in lines { expected[tok.encodeIds(l), default: 0] += 1 }
    var got = [[UInt32]: Int]()
    for f in [a.train, a.validation] {
      for i in 0..<f.sequenceCount { got[f.sequence(i), default: 0] += 1 }
    }
    XCTAssertEqual(got, expected)

    // Same inputs: reused, same order. Another seed or tokenizer: rebuilt.
    let b = try ds.build(tokenizer: tok, cacheDir: cache)
    XCTAssertTrue(b.reused)
    XCTAssertEqual(b.train.sequence(3), a.train.sequence(3))
    ds.seed = 7
    let c = try ds.build(tokenizer: tok, cacheDir: cache)
    XCTAssertFalse(c.reused)
    XCTAssertNotEqual((0..<20).map { c.train.sequence($0) }, (0..<20).map { a.train.sequence($0) })

    // Causal-LM blocks are shifted by one; padded batches carry masks.
    let blk = a.train.block(at: 10, length: 8)
    XCTAssertEqual(Array(blk.input.dropFirst()), Array(blk.target.dropLast()))
    XCTAssertEqual(blk.input, a.train.tokens(10..<18))
    var rng = SplitMix64(seed: 1)
    XCTAssertEqual(a.train.randomBlocks(count: 4, length: 16, rng: &rng).count, 4)
    let pb = a.train.paddedBatch([0, 1], maxLength: 64, padId: 1)
    XCTAssertEqual(pb.ids[0].count, 64)
    XCTAssertEqual(pb.attentionMask[0].reduce(0, +), UInt32(min(a.train.sequence(0).count, 64)))
  }
}
