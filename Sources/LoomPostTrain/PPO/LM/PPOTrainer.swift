import Foundation
import LoomCore
import LoomModels
import LoomNN
import LoomOptim
import LoomTrain

/// PPO for causal language models as trl's `PPOTrainer` (experimental.ppo) runs it: per update, sample
/// responses to a batch of prompts from the policy, score them (reward model or builtin function), take
/// the policy's and the frozen reference's log-probabilities and the value model's values, build
/// KL-penalised rewards, GAE advantages and returns (`PPOMath.rolloutTargets`), then `num_ppo_epochs`
/// passes over shuffled mini-batches of clipped policy + value updates. Dropout is off in every model
/// (trl's `disable_dropout_in_model`); logs trl's metric names to output_dir/metrics.jsonl.
public final class PPOTrainer {
  public let config: PPOConfig
  public let args: TrainingArguments
  public let policy: Module & CausalLanguageModel
  public let ref: Module & CausalLanguageModel
  public let value: TokenScoreModel
  public let reward: PPORewardSource
  public let prompts: [[Int]]
  public let padTokenId: Int
  /// The tokenizer's EOS (trl's `processing_class.eos_token_id`): the missing-EOS penalty and
  /// `val/num_eos_tokens` look for it.
  public let eosTokenId: Int?
  /// Ids generation never samples (a character vocabulary smaller than the model's).
  public var suppressTokens: [Int] = []
  /// Called with each logged record.
  public var onLog: (([String: Double]) -> Void)? = nil
  public internal(set) var history: [[String: Double]] = []

  public init(
    config: PPOConfig, args: TrainingArguments, policy: Module & CausalLanguageModel,
    ref: Module & CausalLanguageModel, value: TokenScoreModel, reward: PPORewardSource,
    prompts: [[Int]],
    padTokenId: Int, eosTokenId: Int?
  ) throws {
    try config.validate()
    guard ref !== policy else {
      throw LoomError(
        "PPOTrainer: the reference model must be a separate copy of the policy, not the policy itself"
      )
    }
    let v = policy.vocabularySize
    var others: [(String, Int)] = [
      ("reference model", ref.vocabularySize), ("value model", value.vocabularySize),
    ]
    if case .model(let r) = reward { others.append(("reward model", r.vocabularySize)) }
    for (name, size) in others where size != v {
      throw LoomError(
        "PPOTrainer: the \(name)'s vocabulary (\(size) tokens) differs from the policy's (\(v)): PPO scores the policy's token ids, so every model must share its tokenizer"
      )
    }
    guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else {
      throw LoomError("PPOTrainer: every prompt needs at least one token")
    }
    for id in [padTokenId] + (eosTokenId.map { [$0] } ?? []) where id < 0 || id >= v {
      throw LoomError(
        "PPOTrainer: token id \(id) (pad or eos) is outside the vocabulary (size \(v))")
    }
    let batch = args.perDeviceTrainBatchSize * args.gradientAccumulationSteps
    guard batch % config.numMiniBatches == 0 else {
      throw LoomError(
        "PPOTrainer: the batch of \(batch) prompts (per_device_train_batch_size × gradient_accumulation_steps) must be a multiple of num_mini_batches (\(config.numMiniBatches))"
      )
    }
    guard (batch / config.numMiniBatches) % args.perDeviceTrainBatchSize == 0 else {
      throw LoomError(
        "PPOTrainer: each mini-batch of \(batch / config.numMiniBatches) must be a multiple of per_device_train_batch_size (\(args.perDeviceTrainBatchSize))"
      )
    }
    guard prompts.count >= batch else {
      throw LoomError(
        "PPOTrainer: \(prompts.count) prompts cannot fill one batch of \(batch) (trl drops the last incomplete batch)"
      )
    }
    let longest = prompts.map(\.count).max()!
    guard longest + config.responseLength <= policy.maxPositions else {
      throw LoomError(
        "PPOTrainer: the longest prompt (\(longest) tokens) + response_length \(config.responseLength) exceed the policy's \(policy.maxPositions) positions"
      )
    }
    self.config = config
    self.args = args
    self.policy = policy
    self.ref = ref
    self.value = value
    self.reward = reward
    self.prompts = prompts
    self.padTokenId = padTokenId
    self.eosTokenId = eosTokenId
  }

  /// trl's `batch_size` (= local batch size on one device): prompts per update.
  public var batchSize: Int { args.perDeviceTrainBatchSize * args.gradientAccumulationSteps }
  public var miniBatchSize: Int { batchSize / config.numMiniBatches }
  /// trl's `num_total_batches` = ceil(total_episodes / batch_size), total_episodes defaulting to
  /// num_train_epochs × prompts; `max_steps` > 0 sets it directly.
  public var numTotalBatches: Int {
    if args.maxSteps > 0 { return args.maxSteps }
    let episodes = config.totalEpisodes ?? Int(args.numTrainEpochs * Double(prompts.count))
    return max(1, (episodes + batchSize - 1) / batchSize)
  }

  /// Samples and scores one batch of prompts (no graph): trl's rollout steps 1–6.
  public func rollout(_ batch: [[Int]], seed: UInt64) throws -> PPORollout {
    let (rows, context) = try PPORollouts.generate(
      policy, prompts: batch, responseLength: config.responseLength,
      temperature: config.temperature,
      stopTokenId: config.stopTokenId, padTokenId: padTokenId, seed: seed,
      suppressTokens: suppressTokens)
    let queryResponses = PPORollouts.tensor(rows)
    return try rollout(queryResponses: queryResponses, contextLength: context)
  }

  /// Rollout steps 1–6 for given query–responses [B, C + L] (left-padded prompts + sampled responses).
  public func rollout(queryResponses: Tensor, contextLength context: Int) throws -> PPORollout {
    try noGrad {
      let rows = Self.rows(queryResponses)
      let responses = rows.map { Array($0[context...]) }
      let post = responses.map { r in
        config.stopTokenId.map {
          PPORollouts.truncateResponse(r, stopTokenId: $0, padTokenId: padTokenId)
        } ?? r
      }
      let sequenceLengths = post.map { PPORollouts.sequenceLength($0, padTokenId: padTokenId) }
      let (logprobs, refLogprobs, values) = forwardInChunks(queryResponses, context: context)
      var scores = try score(
        queries: rows.map { Array($0[..<context]) }, post: post, responses: responses)
      let containsEos = post.map { r in eosTokenId.map { r.contains($0) } ?? false }
      if let penalty = config.missingEosPenalty {
        let drop = containsEos.map { $0 ? 0 : Float(penalty) }
        scores = scores - Tensor(drop, shape: [drop.count], device: scores.device).to(scores.dtype)
      }
      let targets = try PPOMath.rolloutTargets(
        logprobs: logprobs, refLogprobs: refLogprobs, values: values, scores: scores,
        sequenceLengths: sequenceLengths, config: config)
      return PPORollout(
        queryResponses: queryResponses, contextLength: context, responses: responses,
        postprocessedResponses: post, sequenceLengths: sequenceLengths, scores: scores,
        containsEos: containsEos,
        targets: targets)
    }
  }

  /// Policy and reference log-probabilities and values, `local_rollout_forward_batch_size` rows at a time.
  func forwardInChunks(_ qr: Tensor, context: Int) -> (Tensor, Tensor, Tensor) {
    var lp: [Tensor] = []
    var ref: [Tensor] = []
    var vals: [Tensor] = []
    let n = qr.shape[0]
    let step = config.localRolloutForwardBatchSize
    for start in stride(from: 0, to: n, by: step) {
      let chunk = qr.slice(dim: 0, start: start, end: min(start + step, n))
      lp.append(
        PPORollouts.logProbs(
          policy, queryResponses: chunk, contextLength: context, padTokenId: padTokenId,
          temperature: config.temperature
        ).logprobs)
      ref.append(
        PPORollouts.logProbs(
          self.ref, queryResponses: chunk, contextLength: context, padTokenId: padTokenId,
          temperature: config.temperature
        ).logprobs)
      vals.append(
        PPORollouts.values(
          value, queryResponses: chunk, contextLength: context, padTokenId: padTokenId))
    }
    return (Tensor.cat(lp, dim: 0), Tensor.cat(ref, dim: 0), Tensor.cat(vals, dim: 0))
  }

  /// Scores [B] of the post-processed responses: the reward model at each last real token, or the
  /// builtin function or a text scorer on the text before the stop token.
  func score(queries: [[Int]], post: [[Int]], responses: [[Int]]) throws -> Tensor {
    switch reward {
    case .model(let model):
      let qr = PPORollouts.tensor(zip(queries, post).map { $0 + $1 })
      return model.reward(qr, padTokenId: padTokenId, contextLength: queries[0].count).scores
    case .function(let f, let decode):
      let values = texts(responses, decode).map { Float(f.score($0)) }
      return Tensor(values, shape: [values.count])
    case .texts(let scorer, let decode):
      let values: [Float] = try scorer(texts(responses, decode)).map { Float($0) }
      guard values.count == responses.count else {
        throw LoomError("PPOTrainer: the reward scorer gave \(values.count) scores for \(responses.count) responses")
      }
      return Tensor(values, shape: [values.count])
    }
  }

  /// Each response decoded up to its stop token.
  func texts(_ responses: [[Int]], _ decode: ([Int]) -> String) -> [String] {
    responses.map { r in
      let end = config.stopTokenId.map { PPORollouts.firstIndex(in: r, of: $0) } ?? r.count
      return decode(Array(r[..<end]))
    }
  }

  static func rows(_ t: Tensor) -> [[Int]] {
    let v = t.to(.int64).int64s
    let w = t.shape[1]
    return (0..<t.shape[0]).map { r in (0..<w).map { Int(v[r * w + $0]) } }
  }
}
