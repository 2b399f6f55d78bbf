import LoomCore
import LoomModels

/// Per-sequence log-probabilities of completion tokens under a causal LM (what trl's fused
/// LM head returns, summed): position t's logits score token t + 1, and only tokens the
/// completion mask marks count, so prompt and padding are left out.
public struct SequenceLogProbs {
  /// Σ log p(token) over each row's completion tokens: [rows].
  public var logps: Tensor
  /// Σ over each row's completion tokens of the mean logit over the vocabulary (trl's
  /// `logits/…` metrics), detached: [rows].
  public var meanLogitSums: Tensor
  /// Completion tokens scored per row (the shifted mask's sum): [rows].
  public var tokenCounts: Tensor
  /// Σ over each row's completion tokens of the predictive distribution's entropy (trl's
  /// `entropy` metric), detached: [rows].
  public var entropySums: Tensor
  /// Completion tokens per row whose next token is the logits' argmax (trl's
  /// `mean_token_accuracy`, counted on chosen rows), detached: [rows].
  public var top1Counts: Tensor

  /// Runs `model` once on `inputIds` [rows, T]; chosen and rejected rows go in one batch.
  public static func compute(
    _ model: any CausalLanguageModel, inputIds: Tensor, attentionMask: Tensor?, completionMask: Tensor
  ) -> SequenceLogProbs {
    let logits = model.logits(ids: inputIds, attentionMask: attentionMask, state: nil)
    let t = inputIds.shape[1]
    let scored = logits.slice(dim: 1, start: 0, end: t - 1)
    let targets = inputIds.slice(dim: 1, start: 1).to(device: logits.device).to(.int64).contiguous()
    let logProbs = scored.logSoftmax(dim: -1)
    let perToken = logProbs.gather(dim: -1, index: targets.unsqueeze(-1)).squeeze(-1)
    let mask = completionMask.slice(dim: 1, start: 1).to(device: logits.device).float()
    let (meanLogits, entropy, top1) = noGrad {
      let p = logProbs.detach()
      let entropy = -(p.exp() * p).sum(dim: -1)
      let hits = (scored.detach().argmax(dim: -1) == targets).float()
      return (
        (scored.detach().mean(dim: -1) * mask).sum(dim: 1), (entropy * mask).sum(dim: 1), (hits * mask).sum(dim: 1)
      )
    }
    return SequenceLogProbs(
      logps: (perToken * mask).sum(dim: 1), meanLogitSums: meanLogits, tokenCounts: mask.sum(dim: 1),
      entropySums: entropy, top1Counts: top1)
  }
}
