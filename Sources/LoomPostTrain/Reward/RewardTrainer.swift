import LoomCore
import LoomModels
import LoomNN
import LoomTrain

/// trl's `RewardTrainer`: a sequence-classification model with one output scores the chosen
/// and the rejected sequences of each pair (one batch: chosen rows, then rejected rows);
/// the loss is Bradley–Terry's −log σ(r_chosen − r_rejected − margin), plus
/// `centerRewardsCoefficient` · mean((r_chosen + r_rejected)²) when set. Logs trl's metrics
/// (`accuracy`, `margin`, `min_reward`, `mean_reward`, `max_reward`) as loss parts.
open class RewardTrainer: Trainer {
  public let rewardModel: any EncoderModel
  /// trl's `center_rewards_coefficient` (nil: off), which pulls rewards towards zero mean.
  public let centerRewardsCoefficient: Double?

  public init(
    model: any EncoderModel, centerRewardsCoefficient: Double? = nil, args: TrainingArguments,
    trainDataset: RewardDataset, evalDataset: RewardDataset? = nil, callbacks: [TrainerCallback] = []
  ) throws {
    let outputs = try RewardTrainer.outputCount(model)
    guard outputs == 1 else {
      throw LoomError(
        "RewardTrainer: \(type(of: model)) has \(outputs) outputs (num_labels \(outputs)) but a reward model has exactly one score; load it with num_labels 1 (config.json \"num_labels\": 1, or a base model without a classification head)"
      )
    }
    if let c = centerRewardsCoefficient, !(c >= 0 && c.isFinite) {
      throw LoomError("RewardTrainer: center_rewards_coefficient must be a finite number >= 0, got \(c)")
    }
    rewardModel = model
    self.centerRewardsCoefficient = centerRewardsCoefficient
    super.init(
      model: model, args: args, trainDataset: trainDataset, evalDataset: evalDataset, callbacks: callbacks)
    throughputUnit = .samples
    isLanguageModel = false
  }

  /// The size of the model's last output dimension, from a one-token forward.
  public static func outputCount(_ model: any EncoderModel) throws -> Int {
    let device = model.parameters().first?.device ?? .cpu
    let logits = try noGrad {
      try model.forward(EncoderInputs(inputIds: Tensor([Int64(0)], shape: [1, 1], device: device))).logits
    }
    guard let logits else { throw LoomError("RewardTrainer: \(type(of: model)) returns no logits; use a sequence-classification model") }
    return logits.shape.last ?? 1
  }

  /// The rewards [rows] of a batch (one score per sequence).
  public func rewards(_ inputs: Batch) -> Tensor {
    do {
      let out = try rewardModel.forward(
        EncoderInputs(inputIds: inputs.inputIds!, attentionMask: inputs.attentionMask))
      return out.logits!.reshape([-1])
    } catch {
      fatalError("Loom: RewardTrainer: \(error)")
    }
  }

  override open func computeLoss(model: Module, inputs: Batch) -> LossOutput {
    let r = rewards(inputs)
    let n = r.shape[0] / 2
    let chosen = r.slice(dim: 0, start: 0, end: n), rejected = r.slice(dim: 0, start: n)
    var difference = chosen - rejected
    if let margin = inputs[PreferenceKey.margin] { difference = difference - margin.to(device: r.device).float() }
    var loss = -logSigmoid(difference).mean()
    if let c = centerRewardsCoefficient { loss = loss + (chosen + rejected).square().mean() * c }
    let parts: [String: Tensor] = noGrad {
      let all = r.detach()
      return [
        "min_reward": all.min(), "mean_reward": all.mean(), "max_reward": all.max(),
        "accuracy": (chosen.detach() > rejected.detach()).float().mean(),
        "margin": (chosen.detach() - rejected.detach()).mean(),
      ]
    }
    return LossOutput(loss: loss, parts: parts)
  }

  /// Evaluation always computes the loss and metrics (the batches have no labels).
  override open func predictionStep(model: Module, inputs: Batch, predictionLossOnly: Bool)
    -> PredictionStepOutput
  {
    noGrad { (computeLoss(model: model, inputs: prepareInputs(inputs)).detached(), nil, nil) }
  }
}
