import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import XCTest

@testable import LoomPostTrain

/// PPO for language models against trl's formulas on a fixed rollout (tiny random GPT-2 policy, ref,
/// value and reward models written by scripts/fixtures/make_ppo_lm_fixtures.py).
final class PPOLanguageModelParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures =
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/ppo_lm"
  static let expected = try! SafeTensorsFile(path: fixtures + "/expected.safetensors")
  static let pad = 0, eos = 1, context = 5, temperature = 0.7

  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst =
      zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func rows(_ t: Tensor) -> [[Int]] {
    let v = t.to(.int64).int64s
    let w = t.shape[1]
    return (0..<t.shape[0]).map { r in (0..<w).map { Int(v[r * w + $0]) } }
  }

  func policy(_ name: String) throws -> GPT2LMHeadModel {
    try GPT2LMHeadModel.load(from: Self.fixtures + "/" + name)
  }

  func testTruncationAndSequenceLengths() throws {
    let qr = rows(try tensor("query_responses"))
    let responses = qr.map { Array($0[Self.context...]) }
    let post = responses.map {
      PPORollouts.truncateResponse($0, stopTokenId: Self.eos, padTokenId: Self.pad)
    }
    XCTAssertEqual(post, rows(try tensor("postprocessed_responses")))
    XCTAssertEqual(
      post.map { PPORollouts.sequenceLength($0, padTokenId: Self.pad) },
      try tensor("sequence_lengths").to(.int64).int64s.map(Int.init))
    XCTAssertEqual(post.map { PPORollouts.sequenceLength($0, padTokenId: Self.pad) }, [2, 5, 0, 5])
  }

  func testResponseLogProbsOfPolicyAndReference() throws {
    let qr = try tensor("query_responses")
    for (model, key) in [("policy", "logprobs"), ("ref", "ref_logprobs")] {
      let m = try policy(model)
      let out = noGrad {
        PPORollouts.logProbs(
          m, queryResponses: qr, contextLength: Self.context, padTokenId: Self.pad,
          temperature: Self.temperature)
      }
      assertClose(out.logprobs, try tensor(key), 1e-5, key)
    }
  }

  func testValuesAndRewardModelScores() throws {
    let qr = try tensor("query_responses")
    let value = try TokenScoreModel.load(
      from: Self.fixtures + "/value", role: "value model", freshHead: false)
    let values = noGrad {
      PPORollouts.values(
        value, queryResponses: qr, contextLength: Self.context, padTokenId: Self.pad)
    }
    assertClose(values, try tensor("values"), 1e-5, "values")
    let reward = try TokenScoreModel.load(
      from: Self.fixtures + "/reward", role: "reward model", freshHead: false)
    let post = rows(try tensor("postprocessed_responses"))
    let queries = rows(qr).map { Array($0[..<Self.context]) }
    let postQR = PPORollouts.tensor(zip(queries, post).map { $0 + $1 })
    let (scores, ends) = noGrad {
      reward.reward(postQR, padTokenId: Self.pad, contextLength: Self.context)
    }
    assertClose(scores, try tensor("raw_scores"), 1e-5, "scores")
    XCTAssertEqual(ends, [7, 10, 5, 10])
  }

  func testValueModelFromPolicyGetsFreshOneOutputHead() throws {
    let value = try TokenScoreModel.load(
      from: Self.fixtures + "/policy", role: "value model", freshHead: true)
    XCTAssertEqual(value.score.weight.shape, [1, 16])
    XCTAssertThrowsError(
      try TokenScoreModel.load(
        from: Self.fixtures + "/policy", role: "reward model", freshHead: false)
    ) { XCTAssertTrue("\($0)".contains("has no score.weight"), "\($0)") }
  }
}
