import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN
import XCTest

/// A small encoder–decoder built from `MultiheadAttention` — an encoder self-attention
/// layer, a decoder with causal self-attention and cross-attention — standing in for
/// BART/T5 to show the `EncoderDecoderModel` path of generation.
final class TinySeq2Seq: Module, EncoderDecoderModel {
  @Child var embed: Embedding
  @Child var positions: Embedding
  @Child var encoderAttention: MultiheadAttention
  @Child var selfAttention: MultiheadAttention
  @Child var crossAttention: MultiheadAttention
  @Child var head: Linear

  init(seed: UInt64) throws {
    let g = Generator(seed: seed)
    embed = Embedding(13, 16, generator: g)
    positions = Embedding(32, 16, generator: g)
    encoderAttention = try MultiheadAttention(embedDim: 16, heads: 4, generator: g)
    selfAttention = try MultiheadAttention(embedDim: 16, heads: 4, generator: g)
    crossAttention = try MultiheadAttention(embedDim: 16, heads: 4, generator: g)
    head = Linear(16, 13, generator: g)
    super.init()
    for m in [encoderAttention, selfAttention, crossAttention] {
      noGrad { m.inProjBias!.copyIn(Tensor.randn([48], generator: g)) }
    }
    eval()
  }

  var vocabularySize: Int { 13 }
  var maxPositions: Int { 32 }
  var decoderStartTokenId: Int { 0 }

  /// Encoder outputs (no positions: left padding leaves real rows unchanged).
  func encoderOutputs(_ ids: Tensor, mask: Tensor?) -> Tensor {
    let x = embed(ids)
    return x
      + encoderAttention(x, x, x, keyPaddingMask: mask.map { $0.to(.bool).logicalNot() }).output
  }

  func encode(ids: Tensor, attentionMask: Tensor?) -> GenerationState {
    GenerationState(
      selfAttention: [KVCache()], crossAttention: [KVCache(isCrossAttention: true)],
      encoderHiddenStates: encoderOutputs(ids, mask: attentionMask),
      encoderAttentionMask: attentionMask)
  }

  func decode(ids: Tensor, state: GenerationState) -> Tensor {
    decoderLogits(
      ids, encoder: state.encoderHiddenStates!, encoderMask: state.encoderAttentionMask,
      past: state.pastLength,
      selfCache: state.selfAttention[0], crossCache: state.crossAttention[0])
  }

  func decoderLogits(
    _ ids: Tensor, encoder: Tensor, encoderMask: Tensor?, past: Int, selfCache: KVCache?,
    crossCache: KVCache?
  ) -> Tensor {
    let t = ids.shape[1]
    let pos = Tensor((past..<(past + t)).map { Int64($0) }, shape: [1, t])
    var x = embed(ids) + positions(pos)
    x = x + selfAttention(x, x, x, isCausal: true, cache: selfCache).output
    let padding = encoderMask.map { $0.to(.bool).logicalNot() }
    x = x + crossAttention(x, encoder, encoder, keyPaddingMask: padding, cache: crossCache).output
    return head(x)
  }

  /// Uncached: every decoder position recomputed from scratch, one source row.
  func fullLogits(source: [Int], decoder: [Int]) -> Tensor {
    let src = Tensor(source.map { Int64($0) }, shape: [1, source.count])
    let dec = Tensor(decoder.map { Int64($0) }, shape: [1, decoder.count])
    return decoderLogits(
      dec, encoder: encoderOutputs(src, mask: nil), encoderMask: nil, past: 0, selfCache: nil,
      crossCache: nil)
  }
}

final class EncoderDecoderGenerationTests: XCTestCase {
  override func setUp() { TestDevice.apply() }
  func argmax(_ xs: [Float]) -> Int {
    xs.indices.max { xs[$0] < xs[$1] || (xs[$0] == xs[$1] && $0 > $1) }!
  }

  func testCachedStepsGiveTheFullRecomputesLogits() throws {
    let m = try TinySeq2Seq(seed: 1)
    let source = [3, 7, 1, 9, 4]
    let decoder = [0, 5, 11, 2, 8]
    let full = noGrad { m.fullLogits(source: source, decoder: decoder) }
    let state = noGrad {
      m.encode(ids: Tensor(source.map { Int64($0) }, shape: [1, 5]), attentionMask: nil)
    }
    let steps = noGrad {
      [m.decode(ids: Tensor(decoder[0..<2].map { Int64($0) }, shape: [1, 2]), state: state)]
        + (2..<5).map { m.decode(ids: Tensor([Int64(decoder[$0])], shape: [1, 1]), state: state) }
    }
    let cached = Tensor.cat(steps, dim: 1)
    XCTAssertEqual(state.pastLength, 5)
    let err = zip(cached.toArray(Double.self), full.toArray(Double.self)).map { abs($0 - $1) }
      .max()!
    XCTAssertLessThanOrEqual(err, 1e-5)
  }

  /// Batched, left-padded, cached greedy decoding equals a per-row loop that recomputes
  /// encoder and decoder from scratch at every step.
  func testCachedGreedyEqualsUncachedRecompute() throws {
    let m = try TinySeq2Seq(seed: 3)
    let sources = [[3, 7, 1, 9, 4, 6], [12, 2, 5]]
    var config = GenerationConfig()
    config.maxNewTokens = 10
    config.padTokenId = 1
    let out = try Generation.generate(m, inputs: sources, config: config)
    var expected: [[Int]] = []
    for s in sources {
      var dec = [m.decoderStartTokenId]
      for _ in 0..<10 {
        let logits = noGrad { m.fullLogits(source: s, decoder: dec) }
        dec.append(argmax(Array(logits.toArray(Float.self).suffix(13))))
      }
      expected.append(dec)
    }
    XCTAssertEqual(out, expected)
    XCTAssertEqual(out[0].count, 11)
    XCTAssertNotEqual(out[0], out[1], "the decoder must read its own source")
  }

  /// Beams expand and reorder the encoder outputs and cross-attention caches per item:
  /// a batch gives what each source gives alone.
  func testBatchedBeamSearchEqualsEachSourceAlone() throws {
    let m = try TinySeq2Seq(seed: 3)
    let sources = [[3, 7, 1, 9], [12, 2, 5, 10]]
    var config = GenerationConfig()
    config.maxNewTokens = 7
    config.numBeams = 3
    config.numReturnSequences = 2
    config.lengthPenalty = 0.7
    let together = try Generation.generate(m, inputs: sources, config: config)
    let alone = try sources.flatMap { try Generation.generate(m, inputs: [$0], config: config) }
    XCTAssertEqual(together, alone)
    XCTAssertEqual(together.count, 4)
    XCTAssertTrue(together.allSatisfy { $0.first == 0 && $0.count == 8 })
    XCTAssertNotEqual(together[0], together[2])
  }
}
