import LoomCore

/// What a model carries from one decoding step to the next (HF's `past_key_values`
/// with `encoder_outputs`): per-layer self-attention caches, and for an
/// encoder–decoder model per-layer cross-attention caches, the encoder's last hidden
/// states and its attention mask. Generation reorders it between beam-search steps.
public final class GenerationState {
  public var selfAttention: [KVCache]
  public var crossAttention: [KVCache]
  /// Encoder outputs [B, S, E] the decoder attends to (nil for decoder-only models).
  public var encoderHiddenStates: Tensor?
  /// Encoder attention mask [B, S] (1 = real token), nil when nothing is padded.
  public var encoderAttentionMask: Tensor?

  public init(
    selfAttention: [KVCache], crossAttention: [KVCache] = [], encoderHiddenStates: Tensor? = nil,
    encoderAttentionMask: Tensor? = nil
  ) {
    self.selfAttention = selfAttention
    self.crossAttention = crossAttention
    self.encoderHiddenStates = encoderHiddenStates
    self.encoderAttentionMask = encoderAttentionMask
  }

  /// Decoder positions already cached.
  public var pastLength: Int { selfAttention.first?.length ?? 0 }

  /// Batch rows (batch × beams when beam searching).
  public var batchSize: Int? {
    encoderHiddenStates?.shape[0] ?? selfAttention.first?.keys?.shape[0]
  }

  /// Keeps the rows at `beams` (new row i takes old row beams[i]) in every cache and
  /// encoder tensor, like HF's `_reorder_cache`.
  public func reorder(beams: [Int]) {
    let device = encoderHiddenStates?.device ?? (selfAttention + crossAttention).lazy.compactMap(\.keys).first?.device ?? .default
    let index = Tensor(beams.map { Int64($0) }).to(device: device)
    for c in selfAttention + crossAttention { c.reorder(index) }
    noGrad {
      encoderHiddenStates = encoderHiddenStates?.indexSelect(dim: 0, index: index).contiguous()
      encoderAttentionMask = encoderAttentionMask?.indexSelect(dim: 0, index: index).contiguous()
    }
  }

  /// Repeats every row `times` in place (row r becomes rows r·times ..< (r+1)·times),
  /// like `repeat_interleave` for beams or returned sequences.
  public func expand(times: Int) {
    guard times > 1, let rows = batchSize else { return }
    reorder(beams: (0..<rows).flatMap { Array(repeating: $0, count: times) })
  }

  /// Forgets the decoder's cached positions; cross-attention caches and encoder outputs
  /// stay (a sliding context window recomputes only the decoder).
  public func resetSelfAttention() { for c in selfAttention { c.reset() } }
}
