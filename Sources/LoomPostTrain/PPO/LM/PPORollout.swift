import Foundation
import LoomCore

/// Where a rollout's scores come from: a reward model (trl's `reward_model`, read at each response's
/// last token) or a builtin function of the decoded response text.
public enum PPORewardSource {
  case model(TokenScoreModel)
  case function(BuiltinReward, decode: ([Int]) -> String)
  /// A scorer of the decoded response texts (one score each): a text classifier with its own
  /// tokenizer, as trl's sentiment recipes score responses with a classification pipeline.
  case texts(([String]) throws -> [Double], decode: ([Int]) -> String)
}

/// One batch of rollouts as trl's PPOTrainer holds it before the PPO epochs: the sampled
/// query–responses, the raw rollout tensors and the targets (ppo-core's `PPOMath.rolloutTargets`).
public struct PPORollout {
  /// Left-padded prompts + raw responses [B, C + L] (int64).
  public let queryResponses: Tensor
  public let contextLength: Int
  /// Raw sampled responses and the same truncated after the stop token (trl's `postprocessed_responses`).
  public let responses: [[Int]]
  public let postprocessedResponses: [[Int]]
  /// Index of each post-processed response's last real token (−1: empty).
  public let sequenceLengths: [Int]
  /// Scores after the missing-EOS penalty [B].
  public let scores: Tensor
  /// Whether each post-processed response holds the EOS token.
  public let containsEos: [Bool]
  public let targets: PPORolloutTargets
}
