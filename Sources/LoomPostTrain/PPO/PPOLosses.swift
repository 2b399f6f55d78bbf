import LoomCore

/// The clipped surrogate objective of one mini-batch and its statistics (trl's names in the comments).
public struct PPOPolicyLoss {
  /// `pg_loss`: masked mean of max(−A·ratio, −A·clip(ratio, 1 − ε, 1 + ε)); differentiable.
  public let loss: Tensor
  /// `pg_clipfrac`: masked fraction of positions where the clipped term is the larger loss.
  public let clipfrac: Tensor
  /// `approxkl`: 0.5 · mean((log π − log π_old)²) over every position (unmasked, as trl).
  public let approxkl: Tensor
  /// `ratio`: exp(log π − log π_old), detached, for `val/ratio` statistics.
  public let ratio: Tensor
}

/// The clipped value loss of one mini-batch and its clip fraction.
public struct PPOValueLoss {
  /// `vf_loss`: 0.5 · masked mean of max((V − R)², (clip(V, V_old ± ε_v) − R)²); differentiable.
  public let loss: Tensor
  /// `vf_clipfrac`: masked fraction of positions where the clipped error is the larger one.
  public let clipfrac: Tensor
}

extension PPOMath {
  /// trl's policy loss. `mask` (1 = counts) may be nil for a plain mean (environments). All inputs share a shape;
  /// only `logprobs` carries gradients.
  public static func clippedPolicyLoss(
    logprobs: Tensor, oldLogprobs: Tensor, advantages: Tensor, mask: Tensor?, cliprange: Double
  ) -> PPOPolicyLoss {
    precondition(
      logprobs.shape == oldLogprobs.shape && logprobs.shape == advantages.shape,
      "PPOMath.clippedPolicyLoss: logprobs \(logprobs.shape), old logprobs \(oldLogprobs.shape) and advantages "
        + "\(advantages.shape) must have one shape")
    let logprobsDiff = logprobs - oldLogprobs.detach()
    let ratio = logprobsDiff.exp()
    let advantages = advantages.detach()
    let pgLosses = -advantages * ratio
    let pgLosses2 = -advantages * ratio.clamp(min: 1 - cliprange, max: 1 + cliprange)
    let pgLossMax = pgLosses.maximum(pgLosses2)
    let loss = mean(pgLossMax, mask)
    let (clipfrac, approxkl) = noGrad {
      (
        mean((pgLosses2 > pgLosses).to(logprobs.dtype), mask),
        logprobsDiff.detach().square().mean() * 0.5
      )
    }
    return PPOPolicyLoss(loss: loss, clipfrac: clipfrac, approxkl: approxkl, ratio: ratio.detach())
  }

  /// trl's value loss: `values` (the new predictions, differentiable) clipped to `oldValues` ± `cliprangeValue`.
  public static func clippedValueLoss(
    values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor?, cliprangeValue: Double
  ) -> PPOValueLoss {
    precondition(
      values.shape == oldValues.shape && values.shape == returns.shape,
      "PPOMath.clippedValueLoss: values \(values.shape), old values \(oldValues.shape) and returns "
        + "\(returns.shape) must have one shape")
    let oldValues = oldValues.detach()
    let returns = returns.detach()
    let clipped = values.maximum(oldValues - cliprangeValue).minimum(oldValues + cliprangeValue)
    let losses1 = (values - returns).square()
    let losses2 = (clipped - returns).square()
    let loss = mean(losses1.maximum(losses2), mask) * 0.5
    let clipfrac = noGrad { mean((losses2 > losses1).to(values.dtype), mask) }
    return PPOValueLoss(loss: loss, clipfrac: clipfrac)
  }

  /// The categorical entropy per row of `logits` (last dim): logsumexp(l) − Σ softmax(l)·l, as trl logs it.
  public static func entropy(logits: Tensor) -> Tensor {
    logits.logSumExp(dim: -1) - (logits.softmax(dim: -1) * logits).sum(dim: -1)
  }

  /// A masked mean, or the plain mean without a mask.
  static func mean(_ x: Tensor, _ mask: Tensor?) -> Tensor {
    mask.map { maskedMean(x, $0) } ?? x.mean()
  }
}
