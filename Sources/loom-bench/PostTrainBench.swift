import Foundation
import LoomCore
import LoomModels
import LoomNN
import LoomOptim
import LoomPostTrain
import LoomTrain

/// `loom-bench posttrain [--quick] [--only a,b] [--lockstep]`: what bench/pytorch/posttrain.py
/// measures, fp32, random GPT-2-small-shaped weights (124 M parameters), dropout off as trl runs:
/// - dpo: one DPO training step as DPOTrainer.computeLoss takes it — batch 4 pairs (8 rows of 256
///   tokens: a 64-token prompt shared by each pair, 192 completion tokens), one policy forward over
///   chosen + rejected rows, the frozen reference's forward without gradients, the sigmoid loss
///   (β 0.1), backward, clipping at 1, AdamW (lr 1e-6).
/// - ppo: one PPO update as PPOTrainer runs it — rollout of 4 prompts of 192 tokens (batched
///   sampling of exactly 64 tokens with the KV cache, temperature 0.7), policy, reference and value
///   forwards, reward model scores, GAE targets, then one PPO epoch on one mini-batch (policy + value
///   forward, clipped losses, backward, AdamW over both). Policy, reference, value and reward models
///   all have GPT-2 small's shape.
/// Each bench runs in its own process so that its peak RSS is its own.
func runPostTrainBench(_ args: [String]) throws {
  let benches = ["dpo", "ppo"]
  let quick = args.contains("--quick")
  let lockstep = args.contains("--lockstep")
  let only = args.firstIndex(of: "--only").flatMap {
    $0 + 1 < args.count ? args[$0 + 1].split(separator: ",").map(String.init) : nil
  }
  if lockstep && only?.count != 1 {
    throw BenchUsageError("--lockstep needs --only with exactly one bench")
  }
  guard let only, only.count == 1 else {
    for name in benches where only?.contains(name) ?? true {
      try runBenchInOwnProcess(suite: "posttrain", bench: name, args: args)
    }
    return
  }
  let seconds: (() throws -> Void) throws -> Double = { body in
    if lockstep { return lockstepMedian { try! body() } / 1000 }
    var samples: [Double] = []
    for _ in 0..<(quick ? 2 : 5) {
      let t0 = now()
      try body()
      samples.append(now() - t0)
    }
    return median(samples)
  }
  switch only[0] {
  case "dpo": try benchDPO(seconds: seconds)
  case "ppo": try benchPPO(seconds: seconds)
  default:
    throw BenchUsageError("unknown bench \(only[0]) (benches: \(benches.joined(separator: ", ")))")
  }
}

private let (postTrainPrompt, postTrainSeq, postTrainResponse) = (64, 256, 64)

/// A GPT-2-small-shaped causal LM; the same `seed` gives the same weights (policy and reference).
private func postTrainGPT2(seed: UInt64) throws -> GPT2LMHeadModel {
  manualSeed(seed)
  let model = try GPT2LMHeadModel(GPT2Config())
  model.eval()  // trl's disable_dropout
  return model
}

private func randomIds(_ count: Int, seed: UInt64) -> [Int64] {
  var g = SplitMix64(seed: seed)
  return (0..<count).map { _ in Int64(g.next() % 50256) }  // below 50256: no EOS / pad inside
}

private func benchDPO(seconds: (() throws -> Void) throws -> Double) throws {
  let pairs = 4
  let policy = try postTrainGPT2(seed: 0)
  let ref = try postTrainGPT2(seed: 0)
  ref.freeze()
  let config = DPOConfig(beta: 0.1)
  // Rows 0..<4 chosen, 4..<8 rejected; each pair shares its prompt.
  let prompts = (0..<pairs).map { randomIds(postTrainPrompt, seed: 1 + UInt64($0)) }
  let completions = (0..<(2 * pairs)).map {
    randomIds(postTrainSeq - postTrainPrompt, seed: 100 + UInt64($0))
  }
  let ids = Tensor(
    (0..<(2 * pairs)).flatMap { prompts[$0 % pairs] + completions[$0] }, shape: [2 * pairs, postTrainSeq])
  let mask = Tensor([Int64](repeating: 1, count: 2 * pairs * postTrainSeq), shape: [2 * pairs, postTrainSeq])
  let completionMask = Tensor(
    (0..<(2 * pairs)).flatMap { _ in
      [Int64](repeating: 0, count: postTrainPrompt) + [Int64](repeating: 1, count: postTrainSeq - postTrainPrompt)
    }, shape: [2 * pairs, postTrainSeq])
  let params = policy.parameters().filter(\.requiresGrad)
  let opt = AdamW([ParamGroup(params: params, lr: 1e-6, weightDecay: 0)])
  func loss() -> Tensor {
    let out = SequenceLogProbs.compute(policy, inputIds: ids, attentionMask: mask, completionMask: completionMask)
    let refLogps = noGrad {
      SequenceLogProbs.compute(ref, inputIds: ids, attentionMask: mask, completionMask: completionMask).logps
    }
    func halves(_ t: Tensor) -> (Tensor, Tensor) {
      (t.slice(dim: 0, start: 0, end: pairs), t.slice(dim: 0, start: pairs))
    }
    let (chosen, rejected) = halves(out.logps)
    let (refChosen, refRejected) = halves(refLogps)
    let (chosenTokens, rejectedTokens) = halves(out.tokenCounts)
    return DPOLoss.perPair(
      config, chosenLogps: chosen, rejectedLogps: rejected, refChosenLogps: refChosen,
      refRejectedLogps: refRejected, chosenTokens: chosenTokens, rejectedTokens: rejectedTokens
    ).mean()
  }
  var first: Double? = nil
  func step() {
    let l = loss()
    if first == nil { first = l.item() }
    l.backward()
    _ = clipGradNorm(params, maxNorm: 1)
    opt.step()
    opt.zeroGrad()
  }
  step()
  step()
  let s = try seconds(step)
  emit(
    suite: "posttrain", bench: "dpo", config: "gpt2-small", value: 1 / s, unit: "steps/s",
    extra: [
      "impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "pairs": pairs, "seq": postTrainSeq,
      "tokens_per_s": Double(2 * pairs * postTrainSeq) / s, "seconds_per_step": s,
      "loss_step0": first ?? .nan,
    ])
}

private func benchPPO(seconds: (() throws -> Void) throws -> Double) throws {
  let batch = 4
  let promptLength = postTrainSeq - postTrainResponse
  let policy = try postTrainGPT2(seed: 0)
  let ref = try postTrainGPT2(seed: 0)
  manualSeed(1)
  let value = try TokenScoreModel(GPT2Config())
  manualSeed(2)
  let reward = try TokenScoreModel(GPT2Config())
  var config = PPOConfig()
  config.responseLength = postTrainResponse
  config.numPpoEpochs = 1
  config.temperature = 0.7
  var args = TrainingArguments(outputDir: NSTemporaryDirectory() + "loom-bench-ppo")
  args.perDeviceTrainBatchSize = batch
  let prompts = (0..<batch).map { randomIds(promptLength, seed: 1 + UInt64($0)).map(Int.init) }
  let trainer = try PPOTrainer(
    config: config, args: args, policy: policy, ref: ref, value: value, reward: .model(reward),
    prompts: prompts, padTokenId: 50256, eosTokenId: 50256)
  for m in [policy, ref, value, reward] as [Module] { m.eval() }
  ref.freeze()
  reward.freeze()
  let params = (policy.parameters() + value.parameters()).filter(\.requiresGrad)
  let opt = AdamW([ParamGroup(params: params, lr: 3e-6, weightDecay: 0)])
  var update: UInt64 = 0
  var first: Double? = nil
  func step() throws {
    update += 1
    let rollout = try trainer.rollout(prompts, seed: update)
    let out = trainer.microBatchLoss(rollout, rows: Array(0..<batch), policy: policy, value: value)
    if first == nil { first = out.loss.item() }
    out.loss.backward()
    opt.step()
    opt.zeroGrad()
  }
  try step()
  try step()
  let s = try seconds(step)
  emit(
    suite: "posttrain", bench: "ppo", config: "gpt2-small", value: 1 / s, unit: "steps/s",
    extra: [
      "impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "batch": batch, "prompt": promptLength,
      "response": postTrainResponse, "tokens_per_s": Double(batch * postTrainSeq) / s,
      "seconds_per_step": s, "loss_step0": first ?? .nan,
    ])
}
