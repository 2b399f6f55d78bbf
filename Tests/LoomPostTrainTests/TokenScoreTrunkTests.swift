import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

@testable import LoomPostTrain

/// PPO's value and reward models on Llama and BLOOM trunks against trl's `get_reward` (tiny random
/// classifiers written by scripts/fixtures/make_token_score_fixtures.py).
final class TokenScoreTrunkTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures =
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/token_score"
  static let expected = try! SafeTensorsFile(path: fixtures + "/expected.safetensors")
  static let pad = 0, context = 4

  func assertClose(_ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String) {
    XCTAssertEqual(a.shape, b.shape, what)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)")
  }

  /// Columns context − 1 … T − 1, the ones trl reads (values[:, C−1:−1], rewards at response ends, right
  /// padding included); left-padding rows attend to nothing, where frameworks differ and PPO never looks.
  func readByPPO(_ scores: Tensor) -> Tensor {
    scores.slice(dim: 1, start: Self.context - 1, end: scores.shape[1]).contiguous()
  }

  func testLlamaAndBloomScoresMatchTrlsGetReward() throws {
    let qr = try Self.expected.tensor("query_responses")
    for family in ["llama", "bloom"] {
      let model = try TokenScoreModel.load(from: Self.fixtures + "/" + family, role: "reward model", freshHead: false)
      let scores = noGrad { model.tokenScores(qr, padTokenId: Self.pad) }
      assertClose(
        readByPPO(scores), readByPPO(try Self.expected.tensor("\(family)_reward_logits")), 1e-5,
        "\(family) per-token scores")
      let reward = noGrad { model.reward(qr, padTokenId: Self.pad, contextLength: Self.context) }
      assertClose(reward.scores, try Self.expected.tensor("\(family)_final_rewards"), 1e-5, "\(family) rewards")
      XCTAssertEqual(
        reward.sequenceLengths, try Self.expected.tensor("\(family)_sequence_lengths").int64s.map(Int.init))
    }
  }

  func testFilesKeepEachFamilysNames() throws {
    let llama = try TokenScoreModel.load(from: Self.fixtures + "/llama", role: "value model", freshHead: false)
    let bloom = try TokenScoreModel.load(from: Self.fixtures + "/bloom", role: "value model", freshHead: false)
    let llamaKeys = Set(llama.stateDict().keys), bloomKeys = Set(bloom.stateDict().keys)
    XCTAssertTrue(llamaKeys.contains("model.embed_tokens.weight"), "\(llamaKeys.sorted().prefix(4))")
    XCTAssertTrue(bloomKeys.contains("transformer.word_embeddings.weight"), "\(bloomKeys.sorted().prefix(4))")
    XCTAssertTrue(llamaKeys.contains("score.weight") && bloomKeys.contains("score.weight"))
    // Every key is one transformers' LlamaForSequenceClassification file holds.
    let file = try SafeTensorsFile(path: Self.fixtures + "/llama/model.safetensors")
    XCTAssertEqual(llamaKeys, Set(file.names))
  }

  func testValueModelFromAPolicyReadsItsTrunkWithAFreshHead() throws {
    let dir = Self.fixtures + "/llama_policy"
    XCTAssertThrowsError(try TokenScoreModel.load(from: dir, role: "value model", freshHead: false)) {
      XCTAssertTrue("\($0)".contains("no score.weight") && "\($0)".contains("LlamaForSequenceClassification"), "\($0)")
    }
    let value = try TokenScoreModel.load(from: dir, role: "value model", freshHead: true)
    XCTAssertEqual(value.numLabels, 1)
    XCTAssertEqual(value.vocabularySize, 40)
    // With the classifier's head copied in, the trunk read from the policy gives trl's scores.
    let classifier = try TokenScoreModel.load(from: Self.fixtures + "/llama", role: "reward model", freshHead: false)
    noGrad { value.score.weight.copyIn(classifier.score.weight) }
    let qr = try Self.expected.tensor("query_responses")
    assertClose(
      readByPPO(noGrad { value.tokenScores(qr, padTokenId: Self.pad) }),
      readByPPO(try Self.expected.tensor("llama_reward_logits")), 1e-5, "policy trunk + classifier head")
  }

  func testAnEncoderIsNotAScoreModel() throws {
    let dir = NSTemporaryDirectory() + "loom-token-score-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try Data(#"{"model_type": "bert"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
    XCTAssertFalse(TokenScoreModel.supports(dir))
    XCTAssertThrowsError(try TokenScoreModel.load(from: dir, role: "value model", freshHead: true)) {
      XCTAssertTrue("\($0)".contains("model_type 'bert' cannot score tokens"), "\($0)")
    }
  }
}
