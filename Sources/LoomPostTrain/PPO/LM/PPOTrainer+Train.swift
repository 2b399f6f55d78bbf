import Foundation
import LoomCore
import LoomModels
import LoomNN
import LoomOptim
import LoomTrain

extension PPOTrainer {
  /// trl's metric names, in the order trl logs them (plus Loom's `step`).
  public static let metricNames = [
    "eps", "objective/kl", "objective/entropy", "objective/non_score_reward",
    "objective/rlhf_reward",
    "objective/scores", "policy/approxkl_avg", "policy/clipfrac_avg", "loss/policy_avg",
    "loss/value_avg",
    "val/clipfrac_avg", "policy/entropy_avg", "val/ratio", "val/ratio_var", "val/num_eos_tokens",
    "lr", "episode",
    "epoch", "step",
  ]

  /// Runs `numTotalBatches` PPO updates; returns the logged records (also appended to
  /// output_dir/metrics.jsonl, one JSON line per update).
  @discardableResult
  public func train() throws -> [[String: Double]] {
    // trl disables dropout in every model; the reference and reward models never train.
    for m in [policy, ref, value] as [Module] { m.eval() }
    ref.freeze()
    if case .model(let r) = reward {
      r.eval()
      r.freeze()
    }
    let params = (policy.parameters() + value.parameters()).filter(\.requiresGrad)
    let optimizer = makeOptimizer(params)
    let total = numTotalBatches
    let warmup =
      args.warmupSteps > 0 ? args.warmupSteps : Int((args.warmupRatio * Double(total)).rounded(.up))
    let scheduler = LRScheduler(
      optimizer,
      schedule: args.lrSchedulerType.schedule(
        warmupSteps: warmup, totalSteps: total, lrInit: args.learningRate))
    let logURL = URL(fileURLWithPath: args.outputDir).appendingPathComponent("metrics.jsonl")
    try FileManager.default.createDirectory(
      atPath: args.outputDir, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
    let log = try FileHandle(forWritingTo: logURL)
    defer { try? log.close() }

    var sampler = PromptSampler(count: prompts.count, batch: batchSize, seed: args.seed)
    let start = Date()
    var episode = 0
    for update in 1...total {
      episode += batchSize
      let batch = sampler.next().map { prompts[$0] }
      let rollout = try self.rollout(batch, seed: args.seed &+ UInt64(update))
      let stats = try ppoEpochs(rollout, optimizer: optimizer, update: update)
      var record = try noGrad { try metrics(rollout, stats: stats) }
      record["eps"] = Double(Int(Double(episode) / max(Date().timeIntervalSince(start), 1e-9)))
      record["lr"] = scheduler.lastLR.first ?? args.learningRate
      record["episode"] = Double(episode)
      record["epoch"] = Double(episode) / Double(prompts.count)
      record["step"] = Double(update)
      scheduler.step()
      history.append(record)
      try log.write(contentsOf: LogJSON.line(record))
      onLog?(record)
    }
    return history
  }

  /// The optimizer `args.optim` names over the policy's and value model's parameters (trl optimises
  /// its `PolicyAndValueWrapper`, both models' parameters in one optimizer).
  func makeOptimizer(_ params: [Tensor]) -> any Optimizer {
    let groups = [ParamGroup(params: params, lr: args.learningRate, weightDecay: args.weightDecay)]
    switch args.optim {
    case .sgd: return SGD(groups, momentum: args.sgdMomentum)
    case .adam: return Adam(groups, betas: (args.adamBeta1, args.adamBeta2), eps: args.adamEpsilon)
    case .adafactor: return Adafactor(groups)
    case .adamwTorch, .adamwTorchFused, .adamw, .adamwHf:
      return AdamW(groups, betas: (args.adamBeta1, args.adamBeta2), eps: args.adamEpsilon)
    case .adamwBnb8bit, .adamw8bit, .adam8bit:
      return Adam8bit(groups, betas: (args.adamBeta1, args.adamBeta2), eps: args.adamEpsilon)
    }
  }

  /// Per micro-batch statistics over all PPO epochs (trl's `*_stats` tensors, flattened).
  struct EpochStats {
    var approxkl: [Double] = [], pgClipfrac: [Double] = [], pgLoss: [Double] = [],
      vfLoss: [Double] = []
    var vfClipfrac: [Double] = [], entropy: [Double] = [], ratio: [Double] = []
  }

  /// `num_ppo_epochs` passes over a fresh permutation of the batch: per mini-batch, each micro-batch's
  /// loss (pg_loss + vf_coef · vf_loss) / gradient_accumulation_steps is back-propagated, then one step.
  func ppoEpochs(_ rollout: PPORollout, optimizer: any Optimizer, update: Int) throws -> EpochStats
  {
    let micro = args.perDeviceTrainBatchSize
    let accumulation = Double(args.gradientAccumulationSteps)
    let generator = Generator(seed: args.seed &+ 0x9E37_79B9 &* UInt64(update))
    var stats = EpochStats()
    for _ in 0..<config.numPpoEpochs {
      let order = PromptSampler.permutation(batchSize, generator: generator)
      for miniStart in stride(from: 0, to: batchSize, by: miniBatchSize) {
        for microStart in stride(from: miniStart, to: miniStart + miniBatchSize, by: micro) {
          let step = microBatchLoss(
            rollout, rows: Array(order[microStart..<(microStart + micro)]), policy: policy,
            value: value)
          let (loss, pg, vf) = (step.loss, step.policy, step.value)
          (loss / accumulation).backward()
          noGrad {
            stats.approxkl.append(pg.approxkl.item())
            stats.pgClipfrac.append(pg.clipfrac.item())
            stats.pgLoss.append(pg.loss.item())
            stats.vfLoss.append(vf.loss.item())
            stats.vfClipfrac.append(vf.clipfrac.item())
            stats.entropy.append(step.entropy.mean().item())
            stats.ratio.append(pg.ratio.mean().item())
          }
        }
        optimizer.step()
        optimizer.zeroGrad()
      }
    }
    return stats
  }

  /// trl's loss on the micro-batch `rows` of `rollout` under `policy` and `value` (the trained models; tests
  /// pass others): new log-probabilities (INVALID_LOGPROB past each response) and values (0 past the value
  /// mask), the clipped policy and value losses, pg_loss + vf_coef · vf_loss, and the per-token entropy.
  public func microBatchLoss(
    _ rollout: PPORollout, rows: [Int], policy: any CausalLanguageModel, value: TokenScoreModel
  ) -> (loss: Tensor, policy: PPOPolicyLoss, value: PPOValueLoss, entropy: Tensor) {
    let t = rollout.targets
    let index = Tensor(
      rows.map(Int64.init), shape: [rows.count], device: rollout.queryResponses.device)
    func pick(_ x: Tensor) -> Tensor { x.indexSelect(dim: 0, index: index.to(device: x.device)) }
    let qr = pick(rollout.queryResponses)
    let responseMask = pick(t.responseMask)
    let valueMask = pick(t.valueMask)
    let (newLogprobs, logits) = PPORollouts.logProbs(
      policy, queryResponses: qr, contextLength: rollout.contextLength, padTokenId: padTokenId,
      temperature: config.temperature)
    let vpred = PPORollouts.values(
      value, queryResponses: qr, contextLength: rollout.contextLength, padTokenId: padTokenId)
    let pg = PPOMath.clippedPolicyLoss(
      logprobs: newLogprobs.maskedFill(responseMask == 0, value: PPOMath.invalidLogprob),
      oldLogprobs: pick(t.logprobs), advantages: pick(t.advantages), mask: responseMask,
      cliprange: config.cliprange)
    let vf = PPOMath.clippedValueLoss(
      values: vpred.maskedFill(valueMask == 0, value: 0), oldValues: pick(t.values),
      returns: pick(t.returns),
      mask: valueMask, cliprangeValue: config.cliprangeValue)
    let entropy = noGrad { PPOMath.entropy(logits: logits.detach()) }
    return (pg.loss + vf.loss * config.vfCoef, pg, vf, entropy)
  }

  /// trl's logged values for one update (all but eps, lr, episode, epoch and step).
  func metrics(_ rollout: PPORollout, stats: EpochStats) throws -> [String: Double] {
    let t = rollout.targets
    let nonScore = t.nonScoreReward.sum(dim: 1).mean().item()
    let scores = rollout.scores.mean().item()
    func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
    // torch's `.var()` is unbiased: NaN for a single entry, as trl logs it then.
    let ratioMean = mean(stats.ratio)
    let ratioVar =
      stats.ratio.count > 1
      ? stats.ratio.map { ($0 - ratioMean) * ($0 - ratioMean) }.reduce(0, +)
        / Double(stats.ratio.count - 1) : .nan
    let eos =
      eosTokenId.map { e in rollout.responses.reduce(0) { $0 + $1.filter { $0 == e }.count } } ?? 0
    return [
      "objective/kl": t.kl.sum(dim: 1).mean().item(),
      "objective/entropy": (-t.logprobs).sum(dim: 1).mean().item(),
      "objective/non_score_reward": nonScore,
      "objective/rlhf_reward": nonScore + scores,
      "objective/scores": scores,
      "policy/approxkl_avg": mean(stats.approxkl),
      "policy/clipfrac_avg": mean(stats.pgClipfrac),
      "loss/policy_avg": mean(stats.pgLoss),
      "loss/value_avg": mean(stats.vfLoss),
      "val/clipfrac_avg": mean(stats.vfClipfrac),
      "policy/entropy_avg": mean(stats.entropy),
      "val/ratio": ratioMean,
      "val/ratio_var": ratioVar,
      "val/num_eos_tokens": Double(eos),
    ]
  }
}

/// trl's prompt loader: shuffled each pass (seeded), whole batches only (drop_last), repeated forever.
struct PromptSampler {
  let count: Int, batch: Int
  let generator: Generator
  var order: [Int] = []
  var cursor = 0

  init(count: Int, batch: Int, seed: UInt64) {
    self.count = count
    self.batch = batch
    generator = Generator(seed: seed)
  }

  mutating func next() -> [Int] {
    if cursor + batch > order.count {
      order = Self.permutation(count, generator: generator)
      cursor = 0
    }
    defer { cursor += batch }
    return Array(order[cursor..<(cursor + batch)])
  }

  /// A Fisher–Yates permutation of 0..<n from `generator`.
  static func permutation(_ n: Int, generator: Generator) -> [Int] {
    var p = Array(0..<n)
    for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, generator.nextInt(below: i + 1)) }
    return p
  }
}
