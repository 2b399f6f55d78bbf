import LoomAdapt
import LoomCore
import LoomModels
import LoomNN
import LoomTrain

/// Where DPO's reference log-probabilities come from (trl's `ref_model`, PEFT's disabled
/// adapter, or `precompute_ref_log_probs`).
public enum DPOReference {
  /// A frozen model (e.g. a second copy of the starting checkpoint).
  case model(Module & CausalLanguageModel)
  /// The policy itself with its LoRA adapter switched off: the base it started from.
  case adapterDisabled(PeftModel)
  /// `ref_chosen_logps` / `ref_rejected_logps` already in every row of the dataset.
  case precomputed
}

/// trl's `DPOTrainer`: the factored Trainer with `computeLoss` replaced by the DPO loss on
/// a batch of chosen rows followed by rejected rows (one policy forward), and trl's metrics
/// (`rewards/chosen`, `rewards/rejected`, `rewards/accuracies`, `rewards/margins`,
/// `logps/chosen`, `logps/rejected`, `logits/chosen`, `logits/rejected`, `entropy`,
/// `mean_token_accuracy`) logged as loss
/// parts, so metrics.jsonl carries them averaged over each logging window (`eval_…` in evaluation).
open class DPOTrainer: Trainer {
  public let policy: Module & CausalLanguageModel
  public let reference: DPOReference
  public let config: DPOConfig
  /// trl's `disable_dropout` (true): the policy runs without dropout in training, so at step
  /// 0 its log-probabilities equal the reference's.
  public var disableDropout = true

  public init(
    model: Module & CausalLanguageModel, reference: DPOReference, config: DPOConfig = DPOConfig(),
    args: TrainingArguments, trainDataset: PreferenceDataset, evalDataset: PreferenceDataset? = nil,
    callbacks: [TrainerCallback] = []
  ) throws {
    try config.validate()
    switch reference {
    case .model(let ref):
      guard ref.vocabularySize == model.vocabularySize else {
        throw LoomError(
          "DPO: the reference model has a vocabulary of \(ref.vocabularySize) tokens but the policy has \(model.vocabularySize); the reference must share the policy's tokenizer (use the same starting checkpoint, or leave --ref-model out)"
        )
      }
      guard ref !== model else {
        throw LoomError("DPO: the reference model is the policy itself; pass a separate frozen copy, or .adapterDisabled with LoRA")
      }
      ref.freeze()
      ref.eval()
    case .adapterDisabled(let peft):
      guard peft.model === model else {
        throw LoomError("DPO: .adapterDisabled must wrap the policy being trained (getPeftModel(policy, …))")
      }
    case .precomputed:
      let sets: [(String, PreferenceDataset?)] = [("training", trainDataset), ("evaluation", evalDataset)]
      for (name, data) in sets {
        if let data, !data.hasReferenceLogps {
          throw LoomError(
            "DPO: the reference is .precomputed but the \(name) rows have no ref_chosen_logps / ref_rejected_logps (see PreferenceDataset.withReferenceLogps)"
          )
        }
      }
    }
    policy = model
    self.reference = reference
    self.config = config
    super.init(
      model: model, args: args, trainDataset: trainDataset, evalDataset: evalDataset,
      callbacks: callbacks)
    isLanguageModel = false  // eval_loss is the DPO loss, not a token cross-entropy
  }

  /// Per-sequence reference log-probabilities [rows] of a batch, without gradients.
  public func referenceLogps(_ inputs: Batch) -> Tensor {
    let ids = inputs.inputIds!, mask = inputs.attentionMask
    let completion = inputs[PreferenceKey.completionMask]!
    return noGrad {
      switch reference {
      case .model(let ref):
        return SequenceLogProbs.compute(ref, inputIds: ids, attentionMask: mask, completionMask: completion).logps
      case .adapterDisabled(let peft):
        return peft.withAdapterDisabled {
          SequenceLogProbs.compute(policy, inputIds: ids, attentionMask: mask, completionMask: completion).logps
        }
      case .precomputed:
        return Tensor.cat([inputs[PreferenceKey.refChosenLogps]!, inputs[PreferenceKey.refRejectedLogps]!])
      }
    }
  }

  override open func computeLoss(model: Module, inputs: Batch) -> LossOutput {
    let ids = inputs.inputIds!
    let completion = inputs[PreferenceKey.completionMask]!
    let out = SequenceLogProbs.compute(
      policy, inputIds: ids, attentionMask: inputs.attentionMask, completionMask: completion)
    let ref = referenceLogps(inputs).to(device: out.logps.device).float()
    let n = ids.shape[0] / 2
    func halves(_ t: Tensor) -> (Tensor, Tensor) { (t.slice(dim: 0, start: 0, end: n), t.slice(dim: 0, start: n)) }
    let (chosen, rejected) = halves(out.logps)
    let (refChosen, refRejected) = halves(ref)
    // trl's IPO averages over the unshifted completion mask's count.
    let (chosenTokens, rejectedTokens) = halves(completion.to(device: out.logps.device).float().sum(dim: 1))
    let loss = DPOLoss.perPair(
      config, chosenLogps: chosen, rejectedLogps: rejected, refChosenLogps: refChosen,
      refRejectedLogps: refRejected, chosenTokens: chosenTokens, rejectedTokens: rejectedTokens
    ).mean()
    let parts: [String: Tensor] = noGrad {
      let chosenRewards = (chosen.detach() - refChosen) * config.beta
      let rejectedRewards = (rejected.detach() - refRejected) * config.beta
      let (logitSumChosen, logitSumRejected) = halves(out.meanLogitSums)
      let (countChosen, countRejected) = halves(out.tokenCounts)
      return [
        "rewards/chosen": chosenRewards.mean(),
        "rewards/rejected": rejectedRewards.mean(),
        "rewards/accuracies": (chosenRewards > rejectedRewards).float().mean(),
        "rewards/margins": (chosenRewards - rejectedRewards).mean(),
        "logps/chosen": chosen.detach().mean(),
        "logps/rejected": rejected.detach().mean(),
        "logits/chosen": logitSumChosen.sum() / countChosen.sum().clamp(min: 1),
        "logits/rejected": logitSumRejected.sum() / countRejected.sum().clamp(min: 1),
        "entropy": out.entropySums.sum() / out.tokenCounts.sum().clamp(min: 1),
        "mean_token_accuracy": halves(out.top1Counts).0.sum() / countChosen.sum().clamp(min: 1),
      ]
    }
    return LossOutput(loss: loss, parts: parts)
  }

  override open func trainingStep(model: Module, inputs: Batch) throws -> LossOutput {
    guard disableDropout else { return try super.trainingStep(model: model, inputs: inputs) }
    model.eval()  // eval mode only switches dropout off; gradients still flow
    return try lossAndBackward(model: model, inputs: inputs)
  }

  /// Evaluation always computes the DPO loss and metrics (the batches have no labels).
  override open func predictionStep(model: Module, inputs: Batch, predictionLossOnly: Bool)
    -> PredictionStepOutput
  {
    noGrad { (computeLoss(model: model, inputs: prepareInputs(inputs)).detached(), nil, nil) }
  }

  /// trl's `precompute_ref_log_probs`: `dataset` with each row's reference log-probabilities
  /// from `reference`, so training runs one model.
  public static func precomputeReferenceLogps(
    _ reference: Module & CausalLanguageModel, dataset: PreferenceDataset, batchSize: Int
  ) -> PreferenceDataset {
    reference.eval()
    let device = reference.parameters().first?.device ?? .cpu
    return dataset.withReferenceLogps(batchSize: batchSize) { batch in
      let b = batch.to(device: device)
      let logps = noGrad {
        SequenceLogProbs.compute(
          reference, inputIds: b.inputIds!, attentionMask: b.attentionMask,
          completionMask: b[PreferenceKey.completionMask]!
        ).logps.double().toArray(Double.self)
      }
      let n = logps.count / 2
      return (Array(logps[..<n]), Array(logps[n...]))
    }
  }
}
