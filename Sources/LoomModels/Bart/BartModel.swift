import Foundation
import LoomCore
import LoomNN

/// What a BART forward returns (HF's `Seq2SeqModelOutput` / `Seq2SeqLMOutput` /
/// `Seq2SeqSequenceClassifierOutput`).
public struct BartOutput {
  /// The decoder's last hidden states [B, T, C].
  public var lastHiddenState: Tensor
  /// The encoder's last hidden states [B, S, C].
  public var encoderLastHiddenState: Tensor
  /// [B, T, V] for the LM head, [B, num_labels] for classification.
  public var logits: Tensor?
  public var loss: Tensor?
}

/// `BartEncoder`: token embeddings (the model's `shared` unless untied) plus learned
/// positions, `layernorm_embedding`, post-LN layers.
public final class BartEncoder: Module {
  /// Own word embeddings when tie_word_embeddings is false; nil reads `BartModel.shared`.
  @Child public var embed_tokens: BartScaledWordEmbedding?
  @Child public var embed_positions: BartLearnedPositionalEmbedding
  @Child public var layers: [BartEncoderLayer]
  @Child public var layernorm_embedding: LayerNorm
  let dropoutP: Double
  let layerdrop: Double

  init(_ config: BartConfig) {
    embed_tokens = config.tieWordEmbeddings ? nil : BartModel.wordEmbedding(config)
    embed_positions = BartLearnedPositionalEmbedding(config.maxPositionEmbeddings, config.dModel)
    layers = (0..<config.encoderLayers).map { _ in BartEncoderLayer(config) }
    layernorm_embedding = LayerNorm(config.dModel)
    dropoutP = config.dropout
    layerdrop = config.encoderLayerdrop
    super.init()
  }

  /// `ids` [B, S], `attentionMask` [B, S] (1 = real token) → [B, S, C].
  func callAsFunction(_ ids: Tensor, attentionMask: Tensor?, shared: BartScaledWordEmbedding)
    -> Tensor
  {
    self(inputsEmbeds: (embed_tokens ?? shared)(ids), attentionMask: attentionMask)
  }

  /// HF's `inputs_embeds` [B, S, C] (already scaled, as the word embedding returns them) → [B, S, C].
  func callAsFunction(inputsEmbeds: Tensor, attentionMask: Tensor?) -> Tensor {
    let x = inputsEmbeds + embed_positions(length: inputsEmbeds.shape[1], past: 0)
    var h = dropout(layernorm_embedding(x), p: dropoutP, training: training)
    let padding = attentionMask.map { $0.to(.bool).logicalNot() }
    for layer in layers where !BartModel.dropsLayer(layerdrop, training: training) {
      h = layer(h, keyPaddingMask: padding)
    }
    return h
  }
}

/// `BartDecoder`: like the encoder with causal self-attention and cross-attention; with a
/// `GenerationState` it runs incrementally over the positions the state caches.
public final class BartDecoder: Module {
  @Child public var embed_tokens: BartScaledWordEmbedding?
  @Child public var embed_positions: BartLearnedPositionalEmbedding
  @Child public var layers: [BartDecoderLayer]
  @Child public var layernorm_embedding: LayerNorm
  let dropoutP: Double
  let layerdrop: Double

  init(_ config: BartConfig) {
    embed_tokens = config.tieWordEmbeddings ? nil : BartModel.wordEmbedding(config)
    embed_positions = BartLearnedPositionalEmbedding(config.maxPositionEmbeddings, config.dModel)
    layers = (0..<config.decoderLayers).map { _ in BartDecoderLayer(config) }
    layernorm_embedding = LayerNorm(config.dModel)
    dropoutP = config.dropout
    layerdrop = config.decoderLayerdrop
    super.init()
  }

  /// `ids` [B, T] after the `state`'s cached positions → [B, T, C]. `attentionMask` [B, past + T]
  /// (HF's decoder_attention_mask, 1 = real token) masks padded keys on top of the causal mask.
  func callAsFunction(
    _ ids: Tensor, attentionMask: Tensor? = nil, encoder: Tensor, encoderMask: Tensor?,
    shared: BartScaledWordEmbedding, state: GenerationState?
  ) -> Tensor {
    let past = state?.pastLength ?? 0
    let x = (embed_tokens ?? shared)(ids) + embed_positions(length: ids.shape[1], past: past)
    var h = dropout(layernorm_embedding(x), p: dropoutP, training: training)
    let padding = encoderMask.map { $0.to(.bool).logicalNot() }
    let selfPadding = attentionMask.map { $0.to(.bool).logicalNot() }
    // Layers are skipped only in training, when no cache is kept.
    for (i, layer) in layers.enumerated()
    where state != nil || !BartModel.dropsLayer(layerdrop, training: training) {
      h = layer(
        h, selfPaddingMask: selfPadding, encoder: encoder, encoderPaddingMask: padding,
        selfCache: state?.selfAttention[i],
        crossCache: state?.crossAttention[i])
    }
    return h
  }
}

/// `BartModel`: the shared word embeddings, encoder and decoder.
public final class BartModel: Module {
  @Child public var shared: BartScaledWordEmbedding
  @Child public var encoder: BartEncoder
  @Child public var decoder: BartDecoder
  public let config: BartConfig

  public init(_ config: BartConfig) throws {
    try config.validate()
    shared = Self.wordEmbedding(config)
    encoder = BartEncoder(config)
    decoder = BartDecoder(config)
    self.config = config
    super.init()
    BartInit.apply(self, std: config.initStd, paddingIdx: config.padTokenId)
  }

  /// LayerDrop (HF's encoder_/decoder_layerdrop): in training, skip a layer with probability `p`.
  static func dropsLayer(_ p: Double, training: Bool) -> Bool {
    training && p > 0 && Generator.global.nextDouble() < p
  }

  static func wordEmbedding(_ config: BartConfig) -> BartScaledWordEmbedding {
    BartScaledWordEmbedding(
      config.vocabSize, config.dModel, paddingIdx: config.padTokenId,
      embedScale: config.scaleEmbedding ? Double(config.dModel).squareRoot() : 1)
  }

  /// Encoder outputs [B, S, C].
  public func encode(_ ids: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    let device = shared.weight.device
    try BartInputs.check(ids, "input_ids", config)
    try BartInputs.checkMask(attentionMask, for: ids)
    return encoder(
      ids.to(device: device), attentionMask: attentionMask?.to(device: device), shared: shared)
  }

  /// Encoder outputs [B, S, C] from HF's `inputs_embeds` [B, S, d_model] (what `shared` returns
  /// for ids, scale included): prompt tuning's entry.
  public func encode(inputsEmbeds: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    let device = shared.weight.device
    try InputsEmbedsCheck.check(
      inputsEmbeds, width: config.dModel, maxLength: config.maxPositionEmbeddings, mask: attentionMask, model: "BART")
    return encoder(
      inputsEmbeds: inputsEmbeds.to(device: device), attentionMask: attentionMask?.to(device: device))
  }

  /// Decoder outputs [B, T, C] for `decoderIds` after the positions `state` caches;
  /// `decoderAttentionMask` [B, past + T] is HF's decoder_attention_mask (1 = real token).
  public func decode(
    _ decoderIds: Tensor, decoderAttentionMask: Tensor? = nil, encoderHiddenStates: Tensor,
    encoderMask: Tensor?, state: GenerationState? = nil
  ) throws -> Tensor {
    try BartInputs.check(decoderIds, "decoder_input_ids", config, past: state?.pastLength ?? 0)
    try BartInputs.checkMask(
      decoderAttentionMask, for: decoderIds, name: "decoder_attention_mask",
      past: state?.pastLength ?? 0)
    let device = shared.weight.device
    return decoder(
      decoderIds.to(device: device), attentionMask: decoderAttentionMask?.to(device: device),
      encoder: encoderHiddenStates,
      encoderMask: encoderMask?.to(device: device),
      shared: shared, state: state)
  }

  /// HF's `BartModel.forward`: without `decoderInputIds` the decoder reads `inputIds`
  /// shifted right (denoising pre-training).
  public func forward(
    inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil,
    decoderAttentionMask: Tensor? = nil
  ) throws
    -> BartOutput
  {
    let enc = try encode(inputIds, attentionMask: attentionMask)
    let dec = try decoderInputIds ?? Self.shiftTokensRight(inputIds, config)
    let h = try decode(
      dec, decoderAttentionMask: decoderAttentionMask, encoderHiddenStates: enc,
      encoderMask: attentionMask)
    return BartOutput(lastHiddenState: h, encoderLastHiddenState: enc)
  }

  /// HF's `shift_tokens_right`: the start token, then `ids` without its last column,
  /// with −100 (ignored labels) replaced by pad_token_id.
  public static func shiftTokensRight(_ ids: Tensor, _ config: BartConfig) throws -> Tensor {
    guard ids.rank == 2, ids.shape[1] > 0 else {
      throw LoomError(
        "BART: labels / input_ids must be [batch, sequence] with a sequence, got shape \(ids.shape)"
      )
    }
    guard let start = config.decoderStartTokenId else {
      throw LoomError(
        "BART: config.decoder_start_token_id is null; set it to make decoder_input_ids from labels")
    }
    return Seq2SeqLMHead.shiftRight(ids, start: start, pad: config.padId)
  }
}

/// Input checks thrown before any work (a bad id would otherwise trap in the lookup).
enum BartInputs {
  static func check(_ ids: Tensor, _ name: String, _ config: BartConfig, past: Int = 0) throws {
    guard ids.rank == 2, ids.shape[0] > 0, ids.shape[1] > 0 else {
      throw LoomError(
        "BART: \(name) must be [batch, sequence] and non-empty, got shape \(ids.shape)")
    }
    guard past + ids.shape[1] <= config.maxPositionEmbeddings else {
      throw LoomError(
        "BART: \(name) has \(past + ids.shape[1]) positions, more than max_position_embeddings (\(config.maxPositionEmbeddings))"
      )
    }
    if let bad = ids.int64s.first(where: { $0 < 0 || $0 >= Int64(config.vocabSize) }) {
      throw LoomError(
        "BART: \(name) holds token \(bad), outside the vocabulary (vocab_size \(config.vocabSize))")
    }
  }

  /// `mask` must cover `ids` (and a decoder's `past` cached positions before them).
  static func checkMask(
    _ mask: Tensor?, for ids: Tensor, name: String = "attention_mask", past: Int = 0
  ) throws {
    if let mask, mask.shape != [ids.shape[0], past + ids.shape[1]] {
      let idsName = name == "attention_mask" ? "input_ids" : "decoder_input_ids"
      throw LoomError(
        "BART: \(name) has shape \(mask.shape), \(idsName) \(ids.shape)\(past > 0 ? " after \(past) cached positions" : ""); they must match"
      )
    }
  }
}
