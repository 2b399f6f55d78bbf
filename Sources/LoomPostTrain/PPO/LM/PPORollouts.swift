import Foundation
import LoomCore
import LoomGenerate
import LoomModels

/// The pieces of trl's PPO rollout for language models (`experimental.ppo.ppo_trainer`): batched
/// sampling from left-padded prompts, `truncate_response`, response log-probabilities of a policy
/// (`forward` + `selective_log_softmax` over `logits[:, C − 1 : −1] / (temperature + 1e-7)`) and values.
public enum PPORollouts {
  /// trl's `first_true_indices` for one row: the first index holding `value`, else the row's length.
  public static func firstIndex<T: Equatable>(in row: [T], of value: T) -> Int {
    row.firstIndex(of: value) ?? row.count
  }

  /// trl's `truncate_response`: every token after the first `stopTokenId` becomes `padTokenId`.
  public static func truncateResponse(_ response: [Int], stopTokenId: Int, padTokenId: Int) -> [Int]
  {
    let stop = firstIndex(in: response, of: stopTokenId)
    return response.enumerated().map { $0.offset > stop ? padTokenId : $0.element }
  }

  /// trl's sequence length of a (post-processed) response: the index before its first pad, −1 when
  /// it starts with one.
  public static func sequenceLength(_ response: [Int], padTokenId: Int) -> Int {
    firstIndex(in: response, of: padTokenId) - 1
  }

  /// trl's attention mask for query–responses: true where the id is not `padTokenId` (so pad tokens
  /// inside a response are masked too, as in trl's `forward` and `get_reward`); int64 1/0 like the
  /// masks generation builds.
  public static func attentionMask(_ ids: Tensor, padTokenId: Int) -> Tensor {
    (ids.to(.int64) != Double(padTokenId)).to(.int64)
  }

  /// Rows as an int64 tensor [rows, columns] (all rows the same length).
  public static func tensor(_ rows: [[Int]], device: Device = .default) -> Tensor {
    Tensor(
      rows.flatMap { $0.map(Int64.init) }, shape: [rows.count, rows.first?.count ?? 0],
      device: device)
  }

  /// Samples up to `responseLength` tokens for each prompt (left-padded to the longest with
  /// `padTokenId`, KV cache, one batch) as trl's `batch_generation` does: temperature + 1e-7, no
  /// top-k / top-p, stopping a row at `stopTokenId` (then pad). Returns prompt + response rows of one
  /// width and the context length (the longest prompt).
  public static func generate(
    _ policy: any CausalLanguageModel, prompts: [[Int]], responseLength: Int, temperature: Double,
    stopTokenId: Int?, padTokenId: Int, seed: UInt64, suppressTokens: [Int] = []
  ) throws -> (queryResponses: [[Int]], contextLength: Int) {
    var config = GenerationConfig()
    config.doSample = true
    config.temperature = temperature + 1e-7
    config.topK = 0
    config.topP = 1
    config.maxNewTokens = responseLength
    config.eosTokenIds = stopTokenId.map { [$0] } ?? []
    config.padTokenId = padTokenId
    config.suppressTokens = suppressTokens
    config.seed = seed
    let rows = try Generation.generate(policy, prompts: prompts, config: config)
    return (rows, prompts.map(\.count).max() ?? 0)
  }

  /// Response log-probabilities [B, L] (and the temperature-scaled logits [B, L, V] they come from) of
  /// `queryResponses` [B, C + L] under `model`: one forward with trl's mask (pad ids → 0, masked), the
  /// logits at C − 1 ..< C + L − 1 divided by temperature + 1e-7, gathered at the response ids. Keeps the
  /// graph unless called under `noGrad`.
  public static func logProbs(
    _ model: any CausalLanguageModel, queryResponses: Tensor, contextLength: Int, padTokenId: Int,
    temperature: Double
  ) -> (logprobs: Tensor, logits: Tensor) {
    let t = queryResponses.shape[1]
    let mask = attentionMask(queryResponses, padTokenId: padTokenId)
    let input = queryResponses.maskedFill(mask.logicalNot(), value: 0)
    let all = model.logits(ids: input, attentionMask: mask, state: nil)
    let logits = all.slice(dim: 1, start: contextLength - 1, end: t - 1) / (temperature + 1e-7)
    let responses = queryResponses.slice(dim: 1, start: contextLength, end: t).contiguous().to(
      .int64)
    let logprobs = logits.logSoftmax(dim: -1).gather(dim: 2, index: responses.unsqueeze(2)).squeeze(
      2)
    return (logprobs, logits)
  }

  /// Values [B, L] of the response positions: the value model's per-token score at C − 1 ..< C + L − 1
  /// (trl's `full_value[:, context_length − 1 : −1]`).
  public static func values(
    _ valueModel: TokenScoreModel, queryResponses: Tensor, contextLength: Int, padTokenId: Int
  ) -> Tensor {
    let t = queryResponses.shape[1]
    return valueModel.tokenScores(queryResponses, padTokenId: padTokenId)
      .slice(dim: 1, start: contextLength - 1, end: t - 1)
  }
}
