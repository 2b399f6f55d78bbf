import Foundation
import LoomCore
import LoomModels
import LoomNN

/// trl's value and reward models: a GPT-2 trunk with transformers' `score` Linear (no bias) applied
/// to every token — what `AutoModelForSequenceClassification(num_labels=1)` holds, read through its
/// `base_model_prefix` backbone and `score` as trl's `get_reward` does (no pooling by the head).
/// Loads a GPT2ForSequenceClassification directory (`transformer.*` + `score.weight`) or, for a value
/// model started from the policy, a GPT2LMHeadModel directory with a fresh one-output head.
public final class TokenScoreModel: Module {
  @Child public var transformer: GPT2Model
  @Child public var score: Linear
  public let config: GPT2Config

  /// A trunk from `config` and a fresh `score` [numLabels, n_embd] drawn N(0, initializer_range) as
  /// transformers initialises it.
  public init(_ config: GPT2Config, numLabels: Int = 1, generator: Generator = .global) throws {
    transformer = try GPT2LMHeadModel(config, generator: generator).transformer
    let head = Linear(config.nEmbd, numLabels, bias: false, generator: generator)
    noGrad {
      head.weight.copyIn(
        Tensor.randn(head.weight.shape, std: config.initializerRange, generator: generator))
    }
    score = head
    self.config = config
    super.init()
  }

  public var numLabels: Int { score.weight.shape[0] }
  public var vocabularySize: Int { config.vocabSize }

  /// Loads `directory`. `role` names the model in errors ("reward model", "value model"). Without a
  /// `score.weight` in the file the head is fresh when `freshHead` (trl's value model from the policy),
  /// else an error. The head must have one output: PPO reads a scalar per token.
  public static func load(from directory: String, role: String, freshHead: Bool) throws
    -> TokenScoreModel
  {
    let trunk: GPT2Model
    do {
      trunk = try GPT2Model.fromPretrained(directory)
    } catch let e as LoomError {
      throw LoomError(
        "\(role) \(directory): \(e.message) (PPO's score models are GPT-2 checkpoints)")
    }
    let model = try TokenScoreModel(trunk.config)
    model.transformer = trunk
    let weights = try ModelDirectory.readWeights(in: directory)
    if let w = weights["score.weight"]?.tensor {
      guard w.rank == 2, w.shape[1] == trunk.config.nEmbd else {
        throw LoomError(
          "\(role) \(directory): score.weight has shape \(w.shape), expected [num_labels, \(trunk.config.nEmbd)]"
        )
      }
      guard w.shape[0] == 1 else {
        throw LoomError(
          "\(role) \(directory) has \(w.shape[0]) outputs (score.weight \(w.shape)); PPO needs one scalar score: train it with num_labels=1"
        )
      }
      noGrad {
        model.score.weight.copyIn(
          w.to(model.score.weight.dtype).to(device: model.score.weight.device))
      }
    } else if !freshHead {
      throw LoomError(
        "\(role) \(directory) has no score.weight: save a sequence-classification model with num_labels=1 (GPT2ForSequenceClassification)"
      )
    }
    return model
  }

  /// Per-token scores [B, T] of `ids` [B, T]: tokens equal to `padTokenId` are masked from attention
  /// (trl's `query_responses != pad_token_id`) and positions count real tokens only.
  public func tokenScores(_ ids: Tensor, padTokenId: Int) -> Tensor {
    let mask = PPORollouts.attentionMask(ids, padTokenId: padTokenId)
    let inputs = ids.maskedFill(mask.logicalNot(), value: 0)
    let hidden = transformer(inputs, attentionMask: mask)
    return score(hidden).squeeze(-1)
  }

  /// trl's `get_reward`: the score at each row's last token before the first pad after
  /// `contextLength` (`first_true_indices(response == pad) − 1 + context_length`).
  /// Returns the scores [B] and those positions.
  public func reward(_ queryResponses: Tensor, padTokenId: Int, contextLength: Int) -> (
    scores: Tensor, sequenceLengths: [Int]
  ) {
    let all = tokenScores(queryResponses, padTokenId: padTokenId)
    let (b, t) = (queryResponses.shape[0], queryResponses.shape[1])
    let ids = queryResponses.to(.int64).int64s
    let ends = (0..<b).map { r in
      PPORollouts.firstIndex(
        in: Array(ids[(r * t + contextLength)..<((r + 1) * t)]), of: Int64(padTokenId)) - 1
        + contextLength
    }
    let index = Tensor(ends.map { Int64(Swift.max($0, 0)) }, shape: [b, 1], device: all.device)
    // A row whose response starts with pad reads position context_length − 1 (trl's index −1 + C).
    return (all.gather(dim: 1, index: index).squeeze(1), ends)
  }
}
