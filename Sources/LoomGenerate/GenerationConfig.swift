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
  public var seed: UInt64? = nil
  /// Past the model's n_positions, keep generating with the context cropped to the
  /// last n_positions − 1 tokens (nanoGPT's `idx[:, -block_size:]` less the last position, whose output HF-style training never reaches; the cache is recomputed
  /// each step once the window slides) instead of throwing.
  public var slidingWindow = false

  public init() {}

  /// Checks contradictory or out-of-range settings with messages naming the field.
  public func validate(vocabularySize: Int) throws {
    if let m = maxNewTokens, m < 0 { throw LoomError("max_new_tokens must be >= 0, got \(m)") }
    if minNewTokens < 0 { throw LoomError("min_new_tokens must be >= 0, got \(minNewTokens)") }
    if temperature <= 0 { throw LoomError("temperature must be > 0, got \(temperature)") }
    if topK < 0 { throw LoomError("top_k must be >= 0, got \(topK)") }
    if !(topP > 0 && topP <= 1) { throw LoomError("top_p must be in (0, 1], got \(topP)") }
    if repetitionPenalty <= 0 { throw LoomError("repetition_penalty must be > 0, got \(repetitionPenalty)") }
    if numBeams < 1 { throw LoomError("num_beams must be >= 1, got \(numBeams)") }
    if numReturnSequences < 1 { throw LoomError("num_return_sequences must be >= 1, got \(numReturnSequences)") }
    if numBeams == 1 && !doSample && numReturnSequences > 1 {
      throw LoomError("greedy decoding returns one sequence: num_return_sequences (\(numReturnSequences)) needs do_sample or num_beams >= num_return_sequences")
    }
    if numBeams > 1 && numReturnSequences > numBeams {
      throw LoomError("num_return_sequences (\(numReturnSequences)) must be <= num_beams (\(numBeams))")
    }
    for id in eosTokenIds + (padTokenId.map { [$0] } ?? []) where id < 0 || id >= vocabularySize {
      throw LoomError("token id \(id) is outside the vocabulary (size \(vocabularySize))")
    }
  }
}
