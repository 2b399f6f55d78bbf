import Foundation
import LoomCore
import LoomNN

/// `T5ForConditionalGeneration`: `shared`, encoder, decoder and an LM head that is
/// `shared` itself when tie_word_embeddings (the decoder output then scaled by
/// d_model^-0.5 first) or its own `lm_head` (t5-v1_1, flan-t5).
public final class T5ForConditionalGeneration: Module, EncoderDecoderModel {
  @Child public var shared: Embedding
  @Child public var encoder: T5Stack
  @Child public var decoder: T5Stack
  @Child public var lm_head: Linear?
  public let config: T5Config

  /// `feedForward(isDecoder, block)` may supply a block's feed-forward (nil: the dense one).
  public init(_ config: T5Config, feedForward: (Bool, Int) throws -> Module? = { _, _ in nil })
    throws
  {
    try config.validate()
    shared = Embedding(config.vocabSize, config.dModel)
    encoder = try T5Stack(config, isDecoder: false) { try feedForward(false, $0) }
    decoder = try T5Stack(config, isDecoder: true) { try feedForward(true, $0) }
    lm_head = config.tieWordEmbeddings ? nil : Linear(config.dModel, config.vocabSize, bias: false)
    self.config = config
    super.init()
    T5Init.apply(self, config)
  }

  /// Logits [B, T, V] from decoder hidden states.
  func logits(_ hidden: Tensor) -> Tensor {
    let h = config.scalesDecoderOutputs ? hidden * (1 / Double(config.dModel).squareRoot()) : hidden
    return linear(h, weight: lm_head?.weight ?? shared.weight)
  }

  public func encode(_ ids: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try T5Core.encode(ids, attentionMask: attentionMask, shared: shared, encoder: encoder, config: config)
  }

  /// HF's forward: with `labels` [B, T] (−100 ignored) and no `decoderInputIds`, the decoder
  /// reads the labels shifted right after decoder_start_token_id; the loss is the mean
  /// cross-entropy over labelled positions.
  public func forward(
    inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil,
    decoderAttentionMask: Tensor? = nil, labels: Tensor? = nil
  ) throws -> T5Output {
    let dec = try decoderIds(decoderInputIds, labels: labels)
    let enc = try encode(inputIds, attentionMask: attentionMask)
    return try decoding(
      enc, attentionMask: attentionMask, decoderInputIds: dec, decoderAttentionMask: decoderAttentionMask,
      labels: labels)
  }

  /// The same from HF's `inputs_embeds` [B, S, d_model] (prompt tuning's entry).
  public func forward(
    inputsEmbeds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil,
    decoderAttentionMask: Tensor? = nil, labels: Tensor? = nil
  ) throws -> T5Output {
    let dec = try decoderIds(decoderInputIds, labels: labels)
    let enc = try encoderOutputs(inputsEmbeds: inputsEmbeds, attentionMask: attentionMask)
    return try decoding(
      enc, attentionMask: attentionMask, decoderInputIds: dec, decoderAttentionMask: decoderAttentionMask,
      labels: labels)
  }

  /// Encoder outputs [B, S, C] from HF's `inputs_embeds`.
  public func encoderOutputs(inputsEmbeds: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try T5Core.encode(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, encoder: encoder, config: config,
      device: shared.weight.device)
  }

  /// `decoderInputIds`, else `labels` [B, T] shifted right after decoder_start_token_id.
  func decoderIds(_ decoderInputIds: Tensor?, labels: Tensor?) throws -> Tensor {
    if let labels, labels.rank != 2 {
      throw LoomError("T5: labels must be [batch, target length], got shape \(labels.shape)")
    }
    guard let dec = try decoderInputIds ?? labels.map({ try T5Model.shiftRight($0, config) }) else {
      throw LoomError("T5ForConditionalGeneration: pass labels or decoder_input_ids for the decoder")
    }
    return dec
  }

  /// The decoder, LM head and loss over encoder outputs `enc`.
  func decoding(
    _ enc: Tensor, attentionMask: Tensor?, decoderInputIds dec: Tensor, decoderAttentionMask: Tensor?, labels: Tensor?
  ) throws -> T5Output {
    let h = try T5Core.decode(
      dec, decoderAttentionMask: decoderAttentionMask, encoderHiddenStates: enc,
      encoderMask: attentionMask, state: nil, shared: shared, decoder: decoder, config: config)
    var out = T5Output(lastHiddenState: h, encoderLastHiddenState: enc)
    let logits = self.logits(h)
    out.logits = logits
    if let labels {
      out.loss = try Seq2SeqLMHead.loss(
        logits: logits, labels: labels, vocabSize: config.vocabSize, model: "T5")
    }
    return out
  }

  // MARK: EncoderDecoderModel

  public var vocabularySize: Int { config.vocabSize }
  /// Relative positions: no position limit.
  public var maxPositions: Int { Int.max }
  public var decoderStartTokenId: Int { config.decoderStartTokenId ?? 0 }

  public func encode(ids: Tensor, attentionMask: Tensor?) -> GenerationState {
    let hidden: Tensor
    do { hidden = try encode(ids, attentionMask: attentionMask) } catch { fatalError("Loom: \(error)") }
    return generationState(encoded: hidden, attentionMask: attentionMask)
  }

  /// Empty decoder caches over encoder outputs `hidden`.
  func generationState(encoded hidden: Tensor, attentionMask: Tensor?) -> GenerationState {
    GenerationState(
      selfAttention: (0..<config.decoderLayers).map { _ in KVCache() },
      crossAttention: (0..<config.decoderLayers).map { _ in KVCache(isCrossAttention: true) },
      encoderHiddenStates: hidden, encoderAttentionMask: attentionMask?.to(device: hidden.device))
  }

  public func decode(ids: Tensor, state: GenerationState) -> Tensor {
    let hidden: Tensor
    do {
      hidden = try T5Core.decode(
        ids, encoderHiddenStates: state.encoderHiddenStates!,
        encoderMask: state.encoderAttentionMask, state: state, shared: shared, decoder: decoder,
        config: config)
    } catch { fatalError("Loom: \(error)") }
    return logits(hidden)
  }
}
