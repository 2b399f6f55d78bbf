import Foundation
import LoomCore
import LoomModels

/// Text generation with Hugging Face's semantics: greedy, sampling (temperature,
/// top-k, top-p), beam search (length penalty, early stopping), repetition penalty,
/// n-gram blocking, bad words, EOS/padding, batched left-padded prompts, KV cache.
public enum Generation {
  /// Generates continuations of `prompts` (token ids; rows may differ in length and
  /// are left-padded). Returns prompt + generated ids per returned sequence, padded
  /// with the pad token to a common length like HF. `onToken(row, id)` streams tokens
  /// as they are chosen (greedy and sampling).
  public static func generate(
    _ model: any CausalLanguageModel, prompts: [[Int]], config: GenerationConfig,
    onToken: ((Int, Int) -> Void)? = nil
  ) throws -> [[Int]] {
    try config.validate(vocabularySize: model.vocabularySize)
    guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else {
      throw LoomError("generate: every prompt needs at least one token")
    }
    for p in prompts { for t in p where t < 0 || t >= model.vocabularySize {
      throw LoomError("generate: prompt token \(t) is outside the vocabulary (size \(model.vocabularySize))")
    } }
    let pad = config.padTokenId ?? config.eosTokenIds.first ?? 0
    let width = prompts.map(\.count).max()!
    var ids: [[Int]] = prompts.map { [Int](repeating: pad, count: width - $0.count) + $0 }
    var mask: [[Int]] = prompts.map { [Int](repeating: 0, count: width - $0.count) + [Int](repeating: 1, count: $0.count) }
    let maxLength = config.maxNewTokens.map { width + $0 } ?? config.maxLength ?? (width + 20)
    guard maxLength <= model.maxPositions else {
      throw LoomError("generate: prompt (\(width) tokens) plus new tokens (\(maxLength - width)) exceed the model's n_positions (\(model.maxPositions))")
    }
    let padded = mask.contains { $0.contains(0) }
    if config.numBeams > 1 {
      return try beamSearch(model, ids: ids, mask: padded ? mask : nil, maxLength: maxLength, config: config, pad: pad)
    }
    // Sampling with num_return_sequences expands each prompt.
    if config.numReturnSequences > 1 {
      ids = ids.flatMap { Array(repeating: $0, count: config.numReturnSequences) }
      mask = mask.flatMap { Array(repeating: $0, count: config.numReturnSequences) }
    }
    return sample(model, ids: ids, mask: padded ? mask : nil, maxLength: maxLength, config: config, pad: pad, onToken: onToken)
  }

  /// The generated part of an output row: after the prompt, up to (not including) the
  /// first end-of-text token — what follows it is padding.
  public static func continuation(_ output: [Int], promptLength: Int, eosTokenIds: [Int]) -> [Int] {
    let generated = Array(output.dropFirst(promptLength))
    let end = generated.firstIndex { eosTokenIds.contains($0) } ?? generated.count
    return Array(generated[..<end])
  }

  static func lastLogits(_ logits: Tensor) -> [[Float]] {
    let (b, t, v) = (logits.shape[0], logits.shape[1], logits.shape[2])
    let last = logits.select(dim: 1, index: t - 1).contiguous()
    let flat = last.floats
    return (0..<b).map { Array(flat[($0 * v)..<(($0 + 1) * v)]) }
  }

  static func tensor(_ rows: [[Int]]) -> Tensor {
    Tensor(rows.flatMap { $0.map { Int64($0) } }, shape: [rows.count, rows.first?.count ?? 0])
  }

  static func sample(
    _ model: any CausalLanguageModel, ids start: [[Int]], mask startMask: [[Int]]?, maxLength: Int,
    config: GenerationConfig, pad: Int, onToken: ((Int, Int) -> Void)?
  ) -> [[Int]] {
    var ids = start
    var mask = startMask
    let batch = ids.count
    let promptLength = ids[0].count
    let processors = LogitsProcessors(config: config)
    let generator = Generator(seed: config.seed ?? UInt64.random(in: 0...UInt64.max))
    var unfinished = [Bool](repeating: true, count: batch)
    let caches = model.makeCaches(batch: batch, capacity: maxLength)
    var input = ids
    noGrad {
      while ids[0].count < maxLength && unfinished.contains(true) {
        let logits = model.logits(ids: tensor(input), attentionMask: mask.map(tensor), caches: caches)
        let rows = lastLogits(logits)
        var next = [Int](repeating: pad, count: batch)
        for r in 0..<batch {
          var scores = rows[r]
          processors.process(&scores, history: ids[r], generatedCount: ids[r].count - promptLength)
          if config.doSample {
            processors.warp(&scores)
            let probs = softmax(scores)
            var u = Float(generator.nextDouble())
            var pick = probs.lastIndex { $0 > 0 } ?? 0
            for (i, p) in probs.enumerated() where p > 0 {
              if u < p { pick = i; break }
              u -= p
            }
            next[r] = pick
          } else {
            var best = 0
            for i in 1..<scores.count where scores[i] > scores[best] { best = i }
            next[r] = best
          }
          if !unfinished[r] { next[r] = pad }
        }
        for r in 0..<batch {
          ids[r].append(next[r])
          if unfinished[r] { onToken?(r, next[r]) }
          if config.eosTokenIds.contains(next[r]) { unfinished[r] = false }
        }
        if mask != nil { for r in 0..<batch { mask![r].append(1) } }
        input = next.map { [$0] }
      }
    }
    return ids
  }
}
