import Foundation
import LoomCore
import LoomModels
import LoomNN

/// trl's value and reward models: a causal LM's trunk with transformers' `score` Linear (no bias)
/// applied to every token — what `AutoModelForSequenceClassification(num_labels=1)` holds, read
/// through its `base_model_prefix` backbone and `score` as trl's `get_reward` does (no pooling by
/// the head). GPT-2 and BLOOM keep the trunk under `transformer.*`, Llama under `model.*`, so the
/// files are those classes'. Loads a ForSequenceClassification directory (trunk + `score.weight`)
/// or, for a value model started from the policy, a causal-LM directory with a fresh one-output head.
public final class TokenScoreModel: Module {
  /// The trunk, keyed by its family's `base_model_prefix`.
  @Child public var backbone: any TokenScoreTrunk
  @Child public var score: Linear

  /// A trunk and a fresh `score` [numLabels, hidden] drawn N(0, initializer_range) as transformers
  /// initialises it.
  public init(trunk: any TokenScoreTrunk, numLabels: Int = 1, generator: Generator = .global) {
    backbone = trunk
    let head = Linear(trunk.hiddenSize, numLabels, bias: false, generator: generator)
    noGrad {
      head.weight.copyIn(Tensor.randn(head.weight.shape, std: trunk.initializerRange, generator: generator))
    }
    score = head
    super.init()
  }

  /// A GPT-2 trunk from `config` with a fresh head.
  public convenience init(_ config: GPT2Config, numLabels: Int = 1, generator: Generator = .global) throws {
    self.init(
      trunk: try GPT2LMHeadModel(config, generator: generator).transformer, numLabels: numLabels,
      generator: generator)
  }

  override public var keyOverrides: [String: String] { ["backbone": type(of: backbone).baseModelPrefix] }

  public var numLabels: Int { score.weight.shape[0] }
  public var vocabularySize: Int { backbone.vocabularySize }

  /// The `model_type`s whose trunks score tokens here.
  public static let modelTypes = ["gpt2", "llama", "bloom"]

  /// Whether `directory`'s config.json names a family this class reads (a missing model_type is GPT-2's).
  public static func supports(_ directory: String) -> Bool {
    let object = (try? Data(contentsOf: URL(fileURLWithPath: directory + "/config.json")))
      .flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]
    return modelTypes.contains(object?["model_type"] as? String ?? "gpt2")
  }

  /// Loads `directory`. `role` names the model in errors ("reward model", "value model"). Without a
  /// `score.weight` in the file the head is fresh when `freshHead` (trl's value model from the policy),
  /// else an error. The head must have one output: PPO reads a scalar per token.
  public static func load(from directory: String, role: String, freshHead: Bool) throws
    -> TokenScoreModel
  {
    let object = try ConfigFile.object(at: directory + "/config.json")
    let modelType = object["model_type"] as? String ?? "gpt2"
    let trunk: any TokenScoreTrunk
    do {
      switch modelType {
      case "gpt2": trunk = try GPT2Model.fromPretrained(directory)
      case "llama": trunk = try LlamaModel.fromPretrained(directory)
      case "bloom": trunk = try BloomModel.fromPretrained(directory)
      default:
        throw LoomError(
          "model_type '\(modelType)' cannot score tokens; PPO's score models are \(modelTypes.joined(separator: ", ")) checkpoints")
      }
    } catch let e as LoomError {
      throw LoomError("\(role) \(directory): \(e.message)")
    }
    let model = TokenScoreModel(trunk: trunk)
    let weights = try ModelDirectory.readWeights(in: directory)
    if let w = weights["score.weight"]?.tensor {
      guard w.rank == 2, w.shape[1] == trunk.hiddenSize else {
        throw LoomError(
          "\(role) \(directory): score.weight has shape \(w.shape), expected [num_labels, \(trunk.hiddenSize)]")
      }
      guard w.shape[0] == 1 else {
        throw LoomError(
          "\(role) \(directory) has \(w.shape[0]) outputs (score.weight \(w.shape)); PPO needs one scalar score: train it with num_labels=1"
        )
      }
      noGrad {
        model.score.weight.copyIn(w.to(model.score.weight.dtype).to(device: model.score.weight.device))
      }
    } else if !freshHead {
      throw LoomError(
        "\(role) \(directory) has no score.weight: save a sequence-classification model with num_labels=1 (e.g. \(type(of: trunk).classifierName))"
      )
    }
    return model
  }

  /// Per-token scores [B, T] of `ids` [B, T]: tokens equal to `padTokenId` are masked from attention
  /// (trl's `query_responses != pad_token_id`) and positions count real tokens only.
  public func tokenScores(_ ids: Tensor, padTokenId: Int) -> Tensor {
    let mask = PPORollouts.attentionMask(ids, padTokenId: padTokenId)
    let inputs = ids.maskedFill(mask.logicalNot(), value: 0)
    return score(backbone.hiddenStates(inputs, attentionMask: mask)).squeeze(-1)
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
