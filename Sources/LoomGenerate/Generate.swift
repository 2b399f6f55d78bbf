import Foundation
import LoomCore
import LoomModels
import LoomNN

/// Text generation with Hugging Face's semantics: greedy, sampling (temperature,
/// top-k, top-p), beam search (length penalty, early stopping), repetition penalty,
/// n-gram blocking, bad words, EOS/padding, batched left-padded prompts, KV cache,
/// for decoder-only and encoder–decoder models.
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
    try checkTokens(prompts, vocabularySize: model.vocabularySize, what: "prompt")
    let pad = config.padTokenId ?? config.eosTokenIds.first ?? 0
    let width = prompts.map(\.count).max()!
    let ids: [[Int]] = prompts.map { [Int](repeating: pad, count: width - $0.count) + $0 }
    let mask: [[Int]] = prompts.map {
      [Int](repeating: 0, count: width - $0.count) + [Int](repeating: 1, count: $0.count)
    }
    let maxLength = try checkedMaxLength(
      promptLength: width, config: config, maxPositions: model.maxPositions)
    let padded = mask.contains { $0.contains(0) }
    let decoder = Decoder(
      vocabularySize: model.vocabularySize, maxPositions: window(model.maxPositions, config),
      makeState: { rows, capacity in
        model.makeState(batch: prompts.count * rows, capacity: capacity)
      },
      step: { model.logits(ids: $0, attentionMask: $1, state: $2) })
    return try run(
      decoder, ids: ids, mask: padded ? mask : nil, maxLength: maxLength, config: config, pad: pad,
      onToken: onToken)
  }

  /// Encodes `inputs` (source token ids, right-padded to a common length as HF's tokenizers pad
  /// encoder inputs — BART's learned positions count from the left) once, then
  /// decodes from `decoderStartTokenId` (the config's, else the model's) against the encoder outputs, like HF's
  /// `generate` on BART/T5. Returns the decoder ids (start token first) per sequence.
  public static func generate(
    _ model: any EncoderDecoderModel, inputs: [[Int]], config: GenerationConfig,
    onToken: ((Int, Int) -> Void)? = nil
  ) throws -> [[Int]] {
    try config.validate(vocabularySize: model.vocabularySize)
    try checkTokens(inputs, vocabularySize: model.vocabularySize, what: "input")
    let pad = config.padTokenId ?? config.eosTokenIds.first ?? 0
    let width = inputs.map(\.count).max()!
    guard width <= model.maxPositions else {
      throw LoomError(
        "generate: an input of \(width) tokens is longer than the model's max_position_embeddings (\(model.maxPositions)); shorten or truncate it")
    }
    let source = inputs.map { $0 + [Int](repeating: pad, count: width - $0.count) }
    let sourceMask = inputs.map {
      [Int](repeating: 1, count: $0.count) + [Int](repeating: 0, count: width - $0.count)
    }
    let padded = sourceMask.contains { $0.contains(0) }
    let maxLength = try checkedMaxLength(
      promptLength: 1, config: config, maxPositions: model.maxPositions)
    let state = noGrad {
      model.encode(ids: tensor(source), attentionMask: padded ? tensor(sourceMask) : nil)
    }
    let decoder = Decoder(
      vocabularySize: model.vocabularySize, maxPositions: window(model.maxPositions, config),
      makeState: { rows, _ in
        state.expand(times: rows)
        return state
      },
      step: { ids, _, state in model.decode(ids: ids, state: state) })
    let start = [[Int]](
      repeating: [config.decoderStartTokenId ?? model.decoderStartTokenId], count: inputs.count)
    return try run(
      decoder, ids: start, mask: nil, maxLength: maxLength, config: config, pad: pad,
      onToken: onToken)
  }

  /// The generated part of an output row: after the prompt, up to (not including) the
  /// first end-of-text token — what follows it is padding.
  public static func continuation(_ output: [Int], promptLength: Int, eosTokenIds: [Int]) -> [Int] {
    let generated = Array(output.dropFirst(promptLength))
    let end = generated.firstIndex { eosTokenIds.contains($0) } ?? generated.count
    return Array(generated[..<end])
  }

  /// The total length generation stops at, throwing (before any work) when it exceeds
  /// the model's positions and the context window may not slide. `newTokensName` and
  /// `slidingWindowName` spell the settings as the caller's user knows them.
  public static func checkedMaxLength(
    promptLength: Int, config: GenerationConfig, maxPositions: Int,
    newTokensName: String = "max_new_tokens", slidingWindowName: String = "slidingWindow"
  ) throws -> Int {
    let requested = config.maxNewTokens.map { promptLength.addingReportingOverflow($0) }
    if let r = requested, r.overflow || r.partialValue > Int(Int32.max) {
      throw LoomError(
        "generate: \(newTokensName) \(config.maxNewTokens!) is more tokens than Loom generates (at most \(Int32.max) with the prompt)")
    }
    let maxLength = requested?.partialValue ?? config.maxLength ?? (promptLength + 20)
    if maxLength > maxPositions && !config.slidingWindow {
      let request =
        config.maxNewTokens != nil
        ? "prompt \(promptLength) + \(newTokensName) \(maxLength - promptLength) = \(maxLength) tokens"
        : "max_length \(maxLength)"
      throw LoomError(
        "generate: \(request) exceed the model's n_positions (\(maxPositions)); lower \(newTokensName) or use \(slidingWindowName) to keep generating over the last \(maxPositions - 1) tokens"
      )
    }
    return maxLength
  }

  static func checkTokens(_ rows: [[Int]], vocabularySize: Int, what: String) throws {
    guard !rows.isEmpty, rows.allSatisfy({ !$0.isEmpty }) else {
      throw LoomError("generate: every \(what) needs at least one token")
    }
    for p in rows {
      for t in p where t < 0 || t >= vocabularySize {
        throw LoomError(
          "generate: \(what) token \(t) is outside the vocabulary (size \(vocabularySize))")
      }
    }
  }

  /// The context the decoding loops keep: all of n_positions, or with a sliding window the last
  /// n_positions − 1 tokens. Training with labels = input_ids (HF's causal-LM loss over blocks of
  /// n_positions) never asks the last position for a prediction, so its output is untrained: a
  /// window over all n_positions read it at every step and sampled text fell apart once the window
  /// slid (checked against transformers on the same weights).
  static func window(_ maxPositions: Int, _ config: GenerationConfig) -> Int {
    config.slidingWindow ? Swift.max(maxPositions - 1, 1) : maxPositions
  }

  /// The model as the decoding loops see it: fresh state for `rows` sequences per
  /// prompt, and one step's logits.
  struct Decoder {
    let vocabularySize: Int
    let maxPositions: Int
    let makeState: (_ rowsPerPrompt: Int, _ capacity: Int) -> GenerationState
    let step: (_ ids: Tensor, _ mask: Tensor?, _ state: GenerationState) -> Tensor

    /// Logits for `input` (the newest tokens of `ids`). When the cache plus `input`
    /// would pass `maxPositions` (the window, with a sliding window), the context is
    /// cropped to the last `maxPositions` tokens and the self-attention cache recomputed.
    func logits(state: GenerationState, ids: [[Int]], input: [[Int]], mask: [[Int]]?) -> Tensor {
      var input = input
      if state.pastLength + input[0].count > maxPositions {
        state.resetSelfAttention()
        input = ids.map { Array($0.suffix(maxPositions)) }
      }
      let total = state.pastLength + input[0].count
      return step(tensor(input), mask.map { m in tensor(m.map { Array($0.suffix(total)) }) }, state)
    }
  }

  static func run(
    _ decoder: Decoder, ids: [[Int]], mask: [[Int]]?, maxLength: Int, config: GenerationConfig,
    pad: Int,
    onToken: ((Int, Int) -> Void)?
  ) throws -> [[Int]] {
    let capacity = min(maxLength, decoder.maxPositions)
    if config.numBeams > 1 {
      return try beamSearch(
        decoder, ids: ids, mask: mask, maxLength: maxLength, capacity: capacity, config: config,
        pad: pad)
    }
    // Sampling with num_return_sequences expands each prompt.
    let n = config.numReturnSequences
    let rows = n > 1 ? ids.flatMap { Array(repeating: $0, count: n) } : ids
    let rowMask = n > 1 ? mask?.flatMap { Array(repeating: $0, count: n) } : mask
    let state = decoder.makeState(n, capacity)
    return sample(
      decoder, state: state, ids: rows, mask: rowMask, maxLength: maxLength, config: config,
      pad: pad, onToken: onToken)
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
    _ decoder: Decoder, state: GenerationState, ids start: [[Int]], mask startMask: [[Int]]?,
    maxLength: Int,
    config: GenerationConfig, pad: Int, onToken: ((Int, Int) -> Void)?
  ) -> [[Int]] {
    var ids = start
    var mask = startMask
    let batch = ids.count
    let promptLength = ids[0].count
    let processors = LogitsProcessors(config: config, maxLength: maxLength)
    let generator = Generator(seed: config.seed ?? UInt64.random(in: 0...UInt64.max))
    var unfinished = [Bool](repeating: true, count: batch)
    var input = ids
    noGrad {
      while ids[0].count < maxLength && unfinished.contains(true) {
        let logits = decoder.logits(state: state, ids: ids, input: input, mask: mask)
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
              if u < p {
                pick = i
                break
              }
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
