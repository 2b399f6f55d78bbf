import LoomCore

/// Hugging Face's `generate` parameters, with the same defaults and meanings.
public struct GenerationConfig: Sendable {
  public enum EarlyStopping: Sendable, Equatable {
    /// HF's `early_stopping=False`: stop when running beams cannot beat finished ones (heuristic).
    case heuristic
    /// `early_stopping=True`: stop as soon as `numBeams` hypotheses are finished.
    case enabled
    /// `early_stopping="never"`: canonical beam search.
    case never
  }

  public var maxLength: Int? = nil
  public var maxNewTokens: Int? = nil
  public var minNewTokens: Int = 0
  /// HF's `min_length`: end-of-text is blocked while the sequence (prompt, or decoder
  /// tokens with the start token, included) is shorter than this.
  public var minLength: Int = 0
  public var doSample = false
  public var temperature: Double = 1
  public var topK: Int = 50
  public var topP: Double = 1
  public var minP: Double? = nil
  public var repetitionPenalty: Double = 1
  public var noRepeatNgramSize: Int = 0
  public var numBeams: Int = 1
  public var lengthPenalty: Double = 1
  public var earlyStopping: EarlyStopping = .heuristic
  public var numReturnSequences: Int = 1
  public var eosTokenIds: [Int] = []
  public var padTokenId: Int? = nil
  public var badWordsIds: [[Int]] = []
  /// HF's `suppress_tokens`: ids whose scores are -inf at every step, so they are never
  /// generated (Loom sets the unused ids of a small character vocabulary).
  public var suppressTokens: [Int] = []
  /// HF's `forced_bos_token_id`: the first generated token of an encoder–decoder model
  /// (after decoder_start_token_id) is this one.
  public var forcedBosTokenId: Int? = nil
  /// HF's `forced_eos_token_id`: the token at position max_length − 1 is this one.
  public var forcedEosTokenId: Int? = nil
  /// HF's `decoder_start_token_id`: the first decoder token of an encoder–decoder model
  /// (nil: the model config's).
  public var decoderStartTokenId: Int? = nil
  public var seed: UInt64? = nil
  /// Past the model's n_positions, keep generating with the context cropped to the
  /// last n_positions − 1 tokens (nanoGPT's `idx[:, -block_size:]` less the last position, whose output HF-style training never reaches; the cache is recomputed
  /// each step once the window slides) instead of throwing.
  public var slidingWindow = false

  public init() {}

  /// Checks contradictory or out-of-range settings with messages naming the field.
  public func validate(vocabularySize: Int) throws {
    try validate()
    let forced = [forcedBosTokenId, forcedEosTokenId, decoderStartTokenId].compactMap { $0 }
    for id in eosTokenIds + (padTokenId.map { [$0] } ?? []) + suppressTokens + forced where id < 0 || id >= vocabularySize {
      throw LoomError("token id \(id) is outside the vocabulary (size \(vocabularySize))")
    }
  }

  /// The checks that need no model (a CLI runs them before loading one). `name` spells a
  /// field (HF's snake_case name) as the caller shows it, e.g. `--num-beams`. Ranges are
  /// HF's logits processors' (temperature and repetition_penalty > 0, top_p and min_p in
  /// [0, 1]); every real number must be finite.
  public func validate(naming name: (String) -> String = { $0 }) throws {
    try validateRanges(naming: name)
    if numBeams == 1 && !doSample && numReturnSequences > 1 {
      throw LoomError(
        "greedy decoding returns one sequence: \(name("num_return_sequences")) (\(numReturnSequences)) needs \(name("do_sample")) or \(name("num_beams")) >= \(name("num_return_sequences"))")
    }
    if numBeams > 1 && numReturnSequences > numBeams {
      throw LoomError(
        "\(name("num_return_sequences")) (\(numReturnSequences)) must be <= \(name("num_beams")) (\(numBeams))")
    }
  }

  /// Each field's own range, without the checks across fields (a generation_config.json's
  /// values may be completed by flags).
  public func validateRanges(naming name: (String) -> String = { $0 }) throws {
    func fail(_ field: String, _ rule: String, _ value: Any) -> LoomError {
      LoomError("\(name(field)) must be \(rule), got \(value)")
    }
    if let m = maxLength, m < 1 { throw fail("max_length", ">= 1", m) }
    if let m = maxNewTokens, !(0...Int(Int32.max)).contains(m) { throw fail("max_new_tokens", "in 0...\(Int32.max)", m) }
    if minNewTokens < 0 { throw fail("min_new_tokens", ">= 0", minNewTokens) }
    if minLength < 0 { throw fail("min_length", ">= 0", minLength) }
    if !(temperature > 0 && temperature.isFinite) { throw fail("temperature", "a finite number > 0", temperature) }
    if topK < 0 { throw fail("top_k", ">= 0 (0 = off)", topK) }
    if !(topP > 0 && topP <= 1) { throw fail("top_p", "in (0, 1]", topP) }
    if let m = minP, !(0...1).contains(m) { throw fail("min_p", "in [0, 1]", m) }
    if !(repetitionPenalty > 0 && repetitionPenalty.isFinite) {
      throw fail("repetition_penalty", "a finite number > 0", repetitionPenalty)
    }
    if noRepeatNgramSize < 0 { throw fail("no_repeat_ngram_size", ">= 0 (0 = off)", noRepeatNgramSize) }
    if numBeams < 1 { throw fail("num_beams", ">= 1", numBeams) }
    if !lengthPenalty.isFinite { throw fail("length_penalty", "a finite number", lengthPenalty) }
    if numReturnSequences < 1 { throw fail("num_return_sequences", ">= 1", numReturnSequences) }
  }
}
