import LoomCore
import LoomNN

/// What every model generation drives has: a vocabulary and a position limit.
public protocol GenerativeModel: AnyObject {
  var vocabularySize: Int { get }
  /// The longest decoder sequence (n_positions); `Int.max` when positions are unbounded.
  var maxPositions: Int { get }
}

/// A decoder-only language model (GPT-2): logits for new tokens after the positions
/// its `GenerationState` caches.
public protocol CausalLanguageModel: GenerativeModel {
  /// A state with fresh per-layer caches for `batch` rows of up to `capacity` positions.
  func makeState(batch: Int, capacity: Int) -> GenerationState
  /// Logits [B, T, V] for `ids` [B, T] following the cached positions.
  /// `attentionMask` [B, past + T] (1 = real token) handles left padding.
  func logits(ids: Tensor, attentionMask: Tensor?, state: GenerationState?) -> Tensor
}

/// An encoder–decoder model (BART, T5): the source is encoded once, then the
/// decoder runs token by token against the encoder outputs the state carries.
public protocol EncoderDecoderModel: GenerativeModel {
  /// The first decoder token (HF's `decoder_start_token_id`).
  var decoderStartTokenId: Int { get }
  /// Encodes `ids` [B, S] (`attentionMask` [B, S], 1 = real token) into a state holding
  /// the encoder outputs, the mask and empty self-/cross-attention caches.
  func encode(ids: Tensor, attentionMask: Tensor?) -> GenerationState
  /// Logits [B, T, V] for decoder `ids` [B, T] following the positions `state` caches.
  func decode(ids: Tensor, state: GenerationState) -> Tensor
}
