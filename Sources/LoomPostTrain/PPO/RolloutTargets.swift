import LoomCore

/// trl's `kl_estimator`: k1 = log π − log π_ref (unbiased); k3 = (r − 1) − log r with r = π_ref / π (unbiased,
/// lower variance). See http://joschu.net/blog/kl-approx.html.
public enum KLEstimator: String, Codable, Sendable, CaseIterable {
  case k1, k3
}

/// A rollout's training targets after trl's steps 3–6 (masking, KL-penalised rewards, GAE, whitening).
public struct PPORolloutTargets {
  /// Log-probabilities with positions past each response set to trl's `INVALID_LOGPROB` (1).
  public let logprobs: Tensor
  public let refLogprobs: Tensor
  /// Values with positions past `sequence_length + 1` set to 0.
  public let values: Tensor
  /// Per-token KL estimate (k1 or k3) and `non_score_reward` = −kl_coef · kl.
  public let kl: Tensor
  public let nonScoreReward: Tensor
  /// `non_score_reward` plus each row's score at its end position (whitened when `whiten_rewards`).
  public let rewards: Tensor
  /// GAE advantages, whitened over the response tokens and 0 elsewhere; returns = raw advantages + values.
  public let advantages: Tensor
  public let returns: Tensor
  /// 1 on response tokens (trl's `~padding_mask`): the policy loss's mask.
  public let responseMask: Tensor
  /// 1 up to one past the last response token (trl's `~padding_mask_p1`): the value loss's mask.
  public let valueMask: Tensor
}

extension PPOMath {
  /// trl's `INVALID_LOGPROB`, written over log-probabilities past the end of a response.
  public static let invalidLogprob = 1.0

  /// trl's masks for responses of `length` tokens whose last real token is at `sequenceLengths[b]` (−1 for an
  /// empty response): `response` = position ≤ sequence length, `value` = position ≤ sequence length + 1.
  public static func responseMasks(
    sequenceLengths: [Int], length: Int, dtype: DType = .float32, device: Device = .default
  ) -> (response: Tensor, value: Tensor) {
    var response = [Float](repeating: 0, count: sequenceLengths.count * length)
    var value = response
    for (b, last) in sequenceLengths.enumerated() {
      for t in 0..<length {
        if t <= last { response[b * length + t] = 1 }
        if t <= last + 1 { value[b * length + t] = 1 }
      }
    }
    let shape = [sequenceLengths.count, length]
    return (
      Tensor(response, shape: shape, device: device).to(dtype),
      Tensor(value, shape: shape, device: device).to(dtype)
    )
  }

  /// The per-token KL estimate between the policy and the reference from their log-probabilities.
  public static func klEstimate(logprobs: Tensor, refLogprobs: Tensor, estimator: KLEstimator)
    -> Tensor
  {
    let logr = refLogprobs - logprobs
    switch estimator {
    case .k1: return -logr
    case .k3: return (logr.exp() - 1) - logr
    }
  }

  /// trl's steps 3–6 on a rollout of B responses padded to T tokens: `logprobs`, `refLogprobs`, `values` [B, T]
  /// (values: the value head at each response position), `scores` [B] (the reward model's score per response),
  /// `sequenceLengths` (index of each response's last real token). Uses `kl_coef`, `kl_estimator`,
  /// `whiten_rewards`, `gamma` and `lam` from `config`. Throws when a whitening mask is empty.
  public static func rolloutTargets(
    logprobs: Tensor, refLogprobs: Tensor, values: Tensor, scores: Tensor, sequenceLengths: [Int],
    config: PPOConfig
  ) throws -> PPORolloutTargets {
    let (batch, length) = logprobs.rank == 2 ? (logprobs.shape[0], logprobs.shape[1]) : (0, 0)
    guard logprobs.rank == 2, refLogprobs.shape == logprobs.shape, values.shape == logprobs.shape,
      scores.shape == [batch], sequenceLengths.count == batch
    else {
      throw PPOError(
        "rolloutTargets: logprobs \(logprobs.shape), ref logprobs \(refLogprobs.shape) and values "
          + "\(values.shape) must be [B, T] with scores [B] (got \(scores.shape)) and B sequence lengths "
          + "(got \(sequenceLengths.count))")
    }
    if let bad = sequenceLengths.first(where: { $0 < -1 || $0 >= length }) {
      throw PPOError(
        "rolloutTargets: sequence length \(bad) is outside −1 ..< \(length) (the response length)")
    }
    return try noGrad {
      let (responseMask, valueMask) = responseMasks(
        sequenceLengths: sequenceLengths, length: length, dtype: values.dtype, device: values.device
      )
      let padding = responseMask == 0
      let paddingP1 = valueMask == 0
      let logprobs = logprobs.detach().maskedFill(padding, value: invalidLogprob)
      let refLogprobs = refLogprobs.detach().maskedFill(padding, value: invalidLogprob)
      let values = values.detach().maskedFill(paddingP1, value: 0)

      let kl = klEstimate(
        logprobs: logprobs, refLogprobs: refLogprobs, estimator: config.klEstimator)
      let nonScoreReward = kl * -config.klCoef
      // The score goes one past the last token when there is room (trl's `actual_end`), else on the last one.
      var end = [Float](repeating: 0, count: batch * length)
      for (b, last) in sequenceLengths.enumerated() {
        end[b * length + (last + 1 < length ? last + 1 : last)] = 1
      }
      let endMask = Tensor(end, shape: [batch, length], device: values.device).to(values.dtype)
      var rewards = nonScoreReward + endMask * scores.detach().unsqueeze(1)
      if config.whitenRewards {
        rewards = try maskedWhiten(rewards, valueMask, shiftMean: false).maskedFill(
          paddingP1, value: 0)
      }

      let (rawAdvantages, returns) = advantagesAndReturns(
        rewards: rewards, values: values, gamma: config.gamma, lam: config.lam)
      let advantages = try maskedWhiten(rawAdvantages, responseMask).maskedFill(padding, value: 0)
      return PPORolloutTargets(
        logprobs: logprobs, refLogprobs: refLogprobs, values: values, kl: kl,
        nonScoreReward: nonScoreReward,
        rewards: rewards, advantages: advantages, returns: returns, responseMask: responseMask,
        valueMask: valueMask)
    }
  }
}
