/// trl's `PPOConfig` (experimental.ppo): the PPO-specific fields with trl's defaults. JSON keys are trl's
/// snake_case names; the optimizer, batch size and logging come from `TrainingArguments` as in trl, where
/// `PPOConfig` subclasses it.
public struct PPOConfig: Codable, Equatable, Sendable {
  /// Mini-batches each rollout batch is split into per PPO epoch.
  public var numMiniBatches = 1
  /// Total episodes (prompts) to train on; nil derives it from the epochs and the dataset.
  public var totalEpisodes: Int? = nil
  /// Rollout forward passes (no gradient) per device run on this many rows at a time.
  public var localRolloutForwardBatchSize = 64
  /// Tokens generated per response.
  public var responseLength = 53
  /// Token that ends a response (the rest is truncated to padding); nil: none.
  public var stopTokenId: Int? = nil
  /// Sampling temperature of the rollouts (log-probabilities are taken at the same temperature).
  public var temperature = 0.7
  /// Subtracted from the score of a response without an EOS token; nil: no penalty.
  public var missingEosPenalty: Double? = nil
  /// PPO epochs over each rollout batch.
  public var numPpoEpochs = 4
  /// Whiten the per-token rewards (trl's `masked_whiten(shift_mean=False)`) before GAE.
  public var whitenRewards = false
  /// Coefficient of the per-token KL penalty to the reference model.
  public var klCoef = 0.05
  public var klEstimator = KLEstimator.k1
  /// Policy ratio clip range ε.
  public var cliprange = 0.2
  /// Value loss coefficient in loss = pg_loss + vf_coef · vf_loss.
  public var vfCoef = 0.1
  /// Value prediction clip range around the rollout's values.
  public var cliprangeValue = 0.2
  /// Discount factor γ.
  public var gamma = 1.0
  /// GAE's λ.
  public var lam = 0.95

  public init() {}

  enum CodingKeys: String, CodingKey {
    case numMiniBatches = "num_mini_batches"
    case totalEpisodes = "total_episodes"
    case localRolloutForwardBatchSize = "local_rollout_forward_batch_size"
    case responseLength = "response_length"
    case stopTokenId = "stop_token_id"
    case temperature
    case missingEosPenalty = "missing_eos_penalty"
    case numPpoEpochs = "num_ppo_epochs"
    case whitenRewards = "whiten_rewards"
    case klCoef = "kl_coef"
    case klEstimator = "kl_estimator"
    case cliprange
    case vfCoef = "vf_coef"
    case cliprangeValue = "cliprange_value"
    case gamma, lam
  }

  /// Range checks, naming each field as `naming` spells it (e.g. a CLI flag).
  public func validate(naming: (String) -> String = { $0 }) throws {
    func check(_ ok: Bool, _ field: String, _ rule: String) throws {
      if !ok { throw PPOError("\(naming(field)) \(rule)") }
    }
    try check(numMiniBatches >= 1, "num_mini_batches", "must be at least 1, got \(numMiniBatches)")
    try check(numPpoEpochs >= 1, "num_ppo_epochs", "must be at least 1, got \(numPpoEpochs)")
    try check(responseLength >= 1, "response_length", "must be at least 1, got \(responseLength)")
    try check(
      localRolloutForwardBatchSize >= 1, "local_rollout_forward_batch_size",
      "must be at least 1, got \(localRolloutForwardBatchSize)")
    try check(temperature > 0, "temperature", "must be positive, got \(temperature)")
    try check(klCoef >= 0, "kl_coef", "must be non-negative, got \(klCoef)")
    try check(cliprange > 0, "cliprange", "must be positive, got \(cliprange)")
    try check(cliprangeValue > 0, "cliprange_value", "must be positive, got \(cliprangeValue)")
    try check(vfCoef >= 0, "vf_coef", "must be non-negative, got \(vfCoef)")
    try check(gamma >= 0 && gamma <= 1, "gamma", "must be in [0, 1], got \(gamma)")
    try check(lam >= 0 && lam <= 1, "lam", "must be in [0, 1], got \(lam)")
    if let p = missingEosPenalty {
      try check(p > 0, "missing_eos_penalty", "must be positive, got \(p)")
    }
  }
}
