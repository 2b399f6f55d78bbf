import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import XCTest

/// Requests longer than n_positions: a clear error before any work, or with a sliding
/// window generation over the last n_positions − 1 tokens (nanoGPT's crop, less the untrained last position).
final class GenerationLengthTests: XCTestCase {
  override func setUp() { TestDevice.apply() }
  func model() throws -> GPT2LMHeadModel {
    manualSeed(11)
    let m = try GPT2LMHeadModel(
      GPT2Config(vocabSize: 40, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2))
    m.eval()
    return m
  }

  func greedy(_ n: Int, sliding: Bool = false, beams: Int = 1) -> GenerationConfig {
    var c = GenerationConfig()
    c.maxNewTokens = n
    c.slidingWindow = sliding
    c.numBeams = beams
    c.eosTokenIds = []
    return c
  }

  func testTooLongARequestSaysSoBeforeGenerating() throws {
    let m = try model()
    let prompt = Array(1...10)
    XCTAssertThrowsError(try Generation.generate(m, prompts: [prompt], config: greedy(400))) {
      XCTAssertEqual(
        "\($0)",
        "generate: prompt 10 + max_new_tokens 400 = 410 tokens exceed the model's n_positions (16); lower max_new_tokens or use slidingWindow to keep generating over the last 15 tokens"
      )
    }
    XCTAssertThrowsError(
      try Generation.checkedMaxLength(
        promptLength: 10, config: greedy(400), maxPositions: 256, newTokensName: "--max-new-tokens",
        slidingWindowName: "--sliding-window")
    ) {
      XCTAssertTrue(
        "\($0)".contains(
          "prompt 10 + --max-new-tokens 400 = 410 tokens exceed the model's n_positions (256); lower --max-new-tokens or use --sliding-window"
        ), "\($0)")
    }
    XCTAssertEqual(
      try Generation.checkedMaxLength(promptLength: 10, config: greedy(6), maxPositions: 16), 16)
  }

  /// Every token equals the argmax of a full forward over the last n_positions − 1 tokens
  /// (the last position's output is never trained with labels = input_ids); before the
  /// window fills, generation is the usual cached one.
  func testSlidingWindowContinuesOverTheLastPositions() throws {
    let m = try model()
    let prompt = [3, 14, 15, 9, 2]
    let out = try Generation.generate(m, prompts: [prompt], config: greedy(30, sliding: true))[0]
    XCTAssertEqual(out.count, 35)
    XCTAssertEqual(
      Array(out.prefix(15)), try Generation.generate(m, prompts: [prompt], config: greedy(10))[0])
    for end in 5..<35 {
      let window = Array(out[max(0, end - 15)..<end])
      let logits = noGrad { m(Tensor(window.map { Int64($0) }, shape: [1, window.count])) }
      let last = Array(logits.toArray(Float.self).suffix(40))
      let best = last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!
      XCTAssertEqual(out[end], best, "token \(end)")
    }
    // A prompt longer than the window is cropped the same way; beam search slides too.
    let long = Array(repeating: prompt, count: 4).flatMap { $0 }
    XCTAssertEqual(
      try Generation.generate(m, prompts: [long], config: greedy(3, sliding: true))[0].count, 23)
    let beams = try Generation.generate(
      m, prompts: [prompt], config: greedy(20, sliding: true, beams: 2))[0]
    XCTAssertEqual(beams.count, 25)
    XCTAssertEqual(Array(beams.prefix(5)), prompt)
  }
}
