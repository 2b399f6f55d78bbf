import Foundation
import LoomCore
import LoomNN
import LoomOptim

/// One PPO update's statistics (trl's and CleanRL's names in `jsonFields`).
public struct EnvironmentPPOLog: Sendable {
  public var update: Int
  public var globalStep: Int
  public var episodes: Int
  /// Mean return of the last 100 finished episodes (nil before the first one ends).
  public var episodeReturnMean: Double?
  public var policyLoss: Double
  public var valueLoss: Double
  public var entropy: Double
  public var approxkl: Double
  public var clipfrac: Double
  public var learningRate: Double
  public var elapsedSeconds: Double

  /// The metrics.jsonl fields.
  public var jsonFields: [String: Double?] {
    [
      "update": Double(update), "global_step": Double(globalStep), "episodes": Double(episodes),
      "episode_return_mean": episodeReturnMean, "loss/policy_avg": policyLoss,
      "loss/value_avg": valueLoss,
      "policy/entropy_avg": entropy, "policy/approxkl_avg": approxkl,
      "policy/clipfrac_avg": clipfrac,
      "learning_rate": learningRate, "elapsed_seconds": elapsedSeconds,
    ]
  }
}

/// PPO with an actor-critic MLP on a vector of environments: rollouts of `numSteps` per environment (plain Swift
/// environments; one batched forward per step), GAE with episode ends and bootstrapped truncations
/// (`PPOMath.advantagesAndReturns`), advantages whitened over the rollout (`PPOMath.maskedWhiten`), then
/// `numPpoEpochs` passes over shuffled mini-batches with trl's clipped policy and value losses minus the entropy
/// bonus, gradient clipping and Adam.
public final class EnvironmentPPOTrainer<E: Environment> {
  public let args: EnvironmentPPOArguments
  public let model: ActorCritic
  public private(set) var environments: VectorEnvironment<E>
  let optimizer: Adam
  let generator: Generator

  public init(args: EnvironmentPPOArguments, make: (Int) -> E) throws {
    try args.validate()
    self.args = args
    generator = Generator(seed: args.seed)
    environments = VectorEnvironment(count: args.numEnvs, seed: args.seed, make: make)
    model = ActorCritic(
      observationSize: environments.observationSize, actionCount: environments.actionCount,
      hidden: args.hiddenSize, generator: generator)
    optimizer = Adam(model.parameters(), lr: args.learningRate, eps: 1e-5)
  }

  /// Mean return of the last 100 finished episodes.
  public var episodeReturnMean: Double? {
    let last = environments.episodeReturns.suffix(100)
    return last.isEmpty ? nil : last.reduce(0, +) / Double(last.count)
  }

  /// Runs until `totalTimesteps` (or `targetReturn`), calling `onUpdate` after each update.
  public func train(onUpdate: (EnvironmentPPOLog) throws -> Void = { _ in }) throws {
    let start = Date()
    let updates = args.totalTimesteps / args.batchSize
    var globalStep = 0
    for update in 1...updates {
      let lr =
        args.annealLearningRate
        ? args.learningRate * (1 - Double(update - 1) / Double(updates)) : args.learningRate
      for g in optimizer.paramGroups.indices { optimizer.paramGroups[g].lr = lr }
      let rollout = try collectRollout()
      globalStep += args.batchSize
      let stats = try optimize(rollout)
      let log = EnvironmentPPOLog(
        update: update, globalStep: globalStep, episodes: environments.episodeReturns.count,
        episodeReturnMean: episodeReturnMean, policyLoss: stats.policyLoss,
        valueLoss: stats.valueLoss,
        entropy: stats.entropy, approxkl: stats.approxkl, clipfrac: stats.clipfrac,
        learningRate: lr,
        elapsedSeconds: Date().timeIntervalSince(start))
      try onUpdate(log)
      if let target = args.targetReturn, environments.episodeReturns.count >= 100,
        let mean = episodeReturnMean, mean >= target
      {
        break
      }
    }
  }

  /// A rollout laid out with rows = environments, columns = steps; flattened index env · numSteps + step.
  struct Rollout {
    var observations: [Float]  // [N, T, obs]
    var actions: [Int]
    var logprobs: [Float]
    var values: [Float]
    var advantages: [Float]
    var returns: [Float]
  }

  func collectRollout() throws -> Rollout {
    let (n, steps, obsSize) = (args.numEnvs, args.numSteps, environments.observationSize)
    var observations = [Float](repeating: 0, count: n * steps * obsSize)
    var actions = [Int](repeating: 0, count: n * steps)
    var logprobs = [Float](repeating: 0, count: n * steps)
    var values = [Float](repeating: 0, count: n * steps)
    var rewards = [Float](repeating: 0, count: n * steps)
    var continues = [Float](repeating: 1, count: n * steps)
    for t in 0..<steps {
      let obs = environments.observations
      let (logits, value) = noGrad {
        let x = Tensor(obs, shape: [n, obsSize])
        return (model.actor(x).toArray(Float.self), model.value(x).toArray(Float.self))
      }
      var chosen = [Int](repeating: 0, count: n)
      for i in 0..<n {
        let k = i * steps + t
        let row = Array(
          logits[(i * environments.actionCount)..<((i + 1) * environments.actionCount)])
        let (action, logprob) = sample(row)
        chosen[i] = action
        actions[k] = action
        logprobs[k] = logprob
        values[k] = value[i]
        for j in 0..<obsSize { observations[k * obsSize + j] = obs[i * obsSize + j] }
      }
      let result = try environments.step(chosen)
      for i in 0..<n {
        let k = i * steps + t
        rewards[k] = Float(result.rewards[i])
        if result.terminated[i] || result.truncated[i] { continues[k] = 0 }
        // A time limit is not a failure: the truncated episode's future is its final state's value.
        if result.truncated[i] && !result.terminated[i], let final = result.finalObservations[i] {
          let v = noGrad { model.value(Tensor(final, shape: [1, obsSize])).item() }
          rewards[k] += Float(args.ppo.gamma * v)
        }
      }
    }
    let bootstrap = noGrad { model.value(Tensor(environments.observations, shape: [n, obsSize])) }
    let (advantages, returns) = PPOMath.advantagesAndReturns(
      rewards: Tensor(rewards, shape: [n, steps]), values: Tensor(values, shape: [n, steps]),
      continues: Tensor(continues, shape: [n, steps]), bootstrapValues: bootstrap,
      gamma: args.ppo.gamma,
      lam: args.ppo.lam)
    let whitened = try PPOMath.maskedWhiten(advantages, Tensor.ones(advantages.shape))
    return Rollout(
      observations: observations, actions: actions, logprobs: logprobs, values: values,
      advantages: whitened.toArray(Float.self), returns: returns.toArray(Float.self))
  }

  /// Samples from softmax(logits) on the host; returns the action and its log-probability.
  func sample(_ logits: [Float]) -> (Int, Float) {
    let m = logits.max()!
    let logZ = m + log(logits.reduce(Float(0)) { $0 + exp($1 - m) })
    var u = Float(generator.nextDouble())
    for (a, l) in logits.enumerated() {
      u -= exp(l - logZ)
      if u < 0 { return (a, l - logZ) }
    }
    return (logits.count - 1, logits[logits.count - 1] - logZ)
  }

  struct Statistics {
    var policyLoss = 0.0, valueLoss = 0.0, entropy = 0.0, approxkl = 0.0, clipfrac = 0.0
  }

  func optimize(_ rollout: Rollout) throws -> Statistics {
    let batch = args.batchSize
    let miniBatch = args.batchSize / args.ppo.numMiniBatches
    let obsSize = environments.observationSize
    let parameters = model.parameters()
    var sums: [Tensor] = []
    for _ in 0..<args.ppo.numPpoEpochs {
      var order = Array(0..<batch)
      for i in stride(from: batch - 1, to: 0, by: -1) {
        order.swapAt(i, generator.nextInt(below: i + 1))
      }
      for start in stride(from: 0, to: batch, by: miniBatch) {
        let rows = order[start..<(start + miniBatch)]
        var obs = [Float]()
        var actions = [Int64]()
        var oldLogprobs = [Float]()
        var advantages = [Float]()
        var returns = [Float]()
        var oldValues = [Float]()
        obs.reserveCapacity(miniBatch * obsSize)
        for r in rows {
          obs += rollout.observations[(r * obsSize)..<((r + 1) * obsSize)]
          actions.append(Int64(rollout.actions[r]))
          oldLogprobs.append(rollout.logprobs[r])
          advantages.append(rollout.advantages[r])
          returns.append(rollout.returns[r])
          oldValues.append(rollout.values[r])
        }
        let x = Tensor(obs, shape: [miniBatch, obsSize])
        let logits = model.actor(x)
        let logprobs = logits.logSoftmax(dim: -1).gather(
          dim: 1, index: Tensor(actions, shape: [miniBatch, 1])
        )
        .squeeze(-1)
        let entropy = PPOMath.entropy(logits: logits).mean()
        let pg = PPOMath.clippedPolicyLoss(
          logprobs: logprobs, oldLogprobs: Tensor(oldLogprobs), advantages: Tensor(advantages),
          mask: nil,
          cliprange: args.ppo.cliprange)
        let vf = PPOMath.clippedValueLoss(
          values: model.value(x), oldValues: Tensor(oldValues), returns: Tensor(returns), mask: nil,
          cliprangeValue: args.ppo.cliprangeValue)
        let loss = pg.loss - entropy * args.entCoef + vf.loss * args.ppo.vfCoef
        loss.backward()
        clipGradNorm(parameters, maxNorm: args.maxGradNorm)
        optimizer.step()
        optimizer.zeroGrad()
        let stats = noGrad {
          Tensor.stack([
            pg.loss.detach(), vf.loss.detach(), entropy.detach(), pg.approxkl, pg.clipfrac,
          ])
        }
        sums.append(stats)
      }
    }
    // One host read per update.
    let mean = noGrad { Tensor.stack(sums).mean(dim: 0) }.toArray(Double.self)
    return Statistics(
      policyLoss: mean[0], valueLoss: mean[1], entropy: mean[2], approxkl: mean[3],
      clipfrac: mean[4])
  }
}
