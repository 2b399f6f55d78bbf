/// Settings of PPO on a classic-control environment. The PPO fields are trl's (`ppo`); the rest follow CleanRL's
/// ppo.py for CartPole (its names in the comments).
public struct EnvironmentPPOArguments: Equatable, Sendable {
  /// trl's PPO fields; here γ = 0.99, vf_coef = 0.5 and 4 mini-batches by default (CleanRL's CartPole settings).
  public var ppo: PPOConfig
  /// `num_envs`: environments stepped together.
  public var numEnvs = 4
  /// `num_steps`: steps per environment in each rollout (a rollout is numEnvs · numSteps transitions).
  public var numSteps = 128
  /// `total_timesteps`: environment steps over the whole run.
  public var totalTimesteps = 500_000
  /// Adam's learning rate (eps 1e-5), annealed linearly to 0 over the run when `annealLearningRate`.
  public var learningRate = 2.5e-4
  public var annealLearningRate = true
  /// `ent_coef`: weight of the entropy bonus.
  public var entCoef = 0.01
  /// `max_grad_norm`: global gradient-norm clip.
  public var maxGradNorm = 0.5
  /// Width of the actor's and critic's two hidden layers.
  public var hiddenSize = 64
  public var seed: UInt64 = 1
  /// Stop once the mean return of the last 100 episodes reaches this (nil: run every timestep).
  public var targetReturn: Double? = nil

  public init() {
    ppo = PPOConfig()
    ppo.gamma = 0.99
    ppo.vfCoef = 0.5
    ppo.numMiniBatches = 4
  }

  /// Transitions per rollout.
  public var batchSize: Int { numEnvs * numSteps }

  /// Range checks, naming each field as `naming` spells it (e.g. a CLI flag).
  public func validate(naming: (String) -> String = { $0 }) throws {
    try ppo.validate(naming: naming)
    func check(_ ok: Bool, _ field: String, _ rule: String) throws {
      if !ok { throw PPOError("\(naming(field)) \(rule)") }
    }
    try check(numEnvs >= 1, "num_envs", "must be at least 1, got \(numEnvs)")
    try check(numSteps >= 1, "num_steps", "must be at least 1, got \(numSteps)")
    try check(
      batchSize % ppo.numMiniBatches == 0 && batchSize / ppo.numMiniBatches >= 2,
      "num_mini_batches",
      "must divide num_envs · num_steps = \(batchSize) into mini-batches of at least 2, got \(ppo.numMiniBatches)"
    )
    try check(
      totalTimesteps >= batchSize, "total_timesteps",
      "must be at least one rollout (num_envs · num_steps = \(batchSize)), got \(totalTimesteps)")
    try check(learningRate > 0, "learning_rate", "must be positive, got \(learningRate)")
    try check(entCoef >= 0, "ent_coef", "must be non-negative, got \(entCoef)")
    try check(maxGradNorm > 0, "max_grad_norm", "must be positive, got \(maxGradNorm)")
    try check(hiddenSize >= 1, "hidden_size", "must be at least 1, got \(hiddenSize)")
  }
}
