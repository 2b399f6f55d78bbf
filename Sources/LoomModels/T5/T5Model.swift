import Foundation
import LoomCore
import LoomNN

/// What a T5 forward returns (HF's `Seq2SeqModelOutput` / `Seq2SeqLMOutput`).
public struct T5Output {
  /// The decoder's last hidden states [B, T, C] (after its final_layer_norm).
  public var lastHiddenState: Tensor
  /// The encoder's last hidden states [B, S, C].
  public var encoderLastHiddenState: Tensor
  /// [B, T, V] for the LM head.
  public var logits: Tensor?
  public var loss: Tensor?
}

/// `T5Stack`: the encoder or the decoder (blocks, final_layer_norm). Its `embed_tokens`
/// is always the model's `shared`, so the stack holds none.
public final class T5Stack: Module {
  @Child public var block: [T5Block]
  @Child public var final_layer_norm: T5LayerNorm
  public let isDecoder: Bool
  let dropoutP: Double

  /// `feedForward(i)` may supply block i's feed-forward (nil: the dense one).
  public init(_ config: T5Config, isDecoder: Bool, feedForward: (Int) throws -> Module? = { _ in nil })
    throws
  {
    block = try (0..<(isDecoder ? config.decoderLayers : config.numLayers)).map {
      try T5Block(
        config, isDecoder: isDecoder, hasRelativeAttentionBias: $0 == 0,
        feedForward: feedForward($0))
    }
    final_layer_norm = T5LayerNorm(config.dModel, eps: config.layerNormEpsilon)
    self.isDecoder = isDecoder
    dropoutP = config.dropoutRate
    super.init()
  }

  /// `embeds` [B, T, C] → [B, T, C]. `attentionMask` [B, T] (1 = real token) masks the
  /// encoder's keys; `encoderMask` [B, S] the decoder's cross-attention keys. With a
  /// `state` the decoder runs after the positions it caches.
  func callAsFunction(
    _ embeds: Tensor, attentionMask: Tensor?, encoder: Tensor? = nil, encoderMask: Tensor? = nil,
    state: GenerationState? = nil
  ) -> Tensor {
    let (b, t) = (embeds.shape[0], embeds.shape[1])
    let past = state?.pastLength ?? 0
    var h = dropout(embeds, p: dropoutP, training: training)
    // Computed once from block 0's table and shared by every block, as HF does.
    var bias = block[0].selfAttention.SelfAttention.positionBias(
      queryLength: t, keyLength: past + t, past: past)
    if let m = attentionMask {
      // HF's extended mask: the dtype's lowest value on padded keys, added to the bias.
      let pad = (1 - m.to(bias.dtype).reshape([b, 1, 1, m.shape[1]]))
      bias = bias + pad * -Double(Float.greatestFiniteMagnitude)
    }
    let cross = encoderMask.map { $0.to(.bool).reshape([b, 1, 1, $0.shape[1]]) }
    for (i, layer) in block.enumerated() {
      h = layer(
        h, bias: bias, isCausal: isDecoder, encoder: encoder, encoderMask: cross,
        selfCache: state?.selfAttention[i], crossCache: state?.crossAttention[i])
    }
    return dropout(final_layer_norm(h), p: dropoutP, training: training)
  }
}

/// The encoder and decoder entry points the T5 classes share (each holds `shared`,
/// `encoder`, `decoder` at the top level, HF's key layout).
enum T5Core {
  static func encode(
    _ ids: Tensor, attentionMask: Tensor?, shared: Embedding, encoder: T5Stack, config: T5Config
  ) throws -> Tensor {
    try T5Inputs.check(ids, "input_ids", config)
    try T5Inputs.checkMask(attentionMask, for: ids)
    let device = shared.weight.device
    return encoder(shared(ids.to(device: device)), attentionMask: attentionMask?.to(device: device))
  }

  /// The encoder over HF's `inputs_embeds` [B, S, d_model] (prompt tuning's entry).
  static func encode(inputsEmbeds: Tensor, attentionMask: Tensor?, encoder: T5Stack, config: T5Config, device: Device)
    throws -> Tensor
  {
    try InputsEmbedsCheck.check(inputsEmbeds, width: config.dModel, maxLength: nil, mask: attentionMask, model: "T5")
    return encoder(inputsEmbeds.to(device: device), attentionMask: attentionMask?.to(device: device))
  }

  /// `decoderAttentionMask` [B, past + T] (HF's decoder_attention_mask) masks padded decoder
  /// keys on top of the causal mask, as HF adds it to the position bias.
  static func decode(
    _ ids: Tensor, decoderAttentionMask: Tensor? = nil, encoderHiddenStates: Tensor,
    encoderMask: Tensor?, state: GenerationState?, shared: Embedding, decoder: T5Stack,
    config: T5Config
  ) throws -> Tensor {
    try T5Inputs.check(ids, "decoder_input_ids", config)
    let past = state?.pastLength ?? 0
    if let m = decoderAttentionMask, m.shape != [ids.shape[0], past + ids.shape[1]] {
      throw LoomError(
        "T5: decoder_attention_mask has shape \(m.shape), decoder_input_ids \(ids.shape)\(past > 0 ? " after \(past) cached positions" : ""); they must match"
      )
    }
    let device = shared.weight.device
    return decoder(
      shared(ids.to(device: device)), attentionMask: decoderAttentionMask?.to(device: device),
      encoder: encoderHiddenStates,
      encoderMask: encoderMask?.to(device: device), state: state)
  }
}

/// `T5Model`: the shared word embeddings, encoder and decoder.
public final class T5Model: Module {
  @Child public var shared: Embedding
  @Child public var encoder: T5Stack
  @Child public var decoder: T5Stack
  public let config: T5Config

  public init(_ config: T5Config) throws {
    try config.validate()
    shared = Embedding(config.vocabSize, config.dModel)
    encoder = try T5Stack(config, isDecoder: false)
    decoder = try T5Stack(config, isDecoder: true)
    self.config = config
    super.init()
    T5Init.apply(self, config)
  }

  /// Encoder outputs [B, S, C].
  public func encode(_ ids: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try T5Core.encode(ids, attentionMask: attentionMask, shared: shared, encoder: encoder, config: config)
  }

  /// Decoder outputs [B, T, C] for `ids` after the positions `state` caches.
  public func decode(
    _ ids: Tensor, decoderAttentionMask: Tensor? = nil, encoderHiddenStates: Tensor,
    encoderMask: Tensor?, state: GenerationState? = nil
  ) throws -> Tensor {
    try T5Core.decode(
      ids, decoderAttentionMask: decoderAttentionMask, encoderHiddenStates: encoderHiddenStates,
      encoderMask: encoderMask, state: state,
      shared: shared, decoder: decoder, config: config)
  }

  /// HF's `T5Model.forward`: the decoder needs `decoderInputIds` (the LM head makes them from labels).
  public func forward(
    inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor? = nil
  ) throws -> T5Output {
    guard let decoderInputIds else {
      throw LoomError(
        "T5Model: pass decoder_input_ids (T5Model has no labels to shift; T5ForConditionalGeneration makes them from labels)"
      )
    }
    let enc = try encode(inputIds, attentionMask: attentionMask)
    let h = try decode(
      decoderInputIds, decoderAttentionMask: decoderAttentionMask, encoderHiddenStates: enc,
      encoderMask: attentionMask)
    return T5Output(lastHiddenState: h, encoderLastHiddenState: enc)
  }

  /// HF's `_shift_right`: decoder_start_token_id, then `labels` without the last column,
  /// −100 replaced by pad_token_id.
  public static func shiftRight(_ labels: Tensor, _ config: T5Config) throws -> Tensor {
    guard labels.rank == 2, labels.shape[1] > 0 else {
      throw LoomError("T5: labels must be [batch, target length] and non-empty, got shape \(labels.shape)")
    }
    guard let start = config.decoderStartTokenId else {
      throw LoomError(
        "T5: config.decoder_start_token_id is null; T5 uses the pad token (0) to start the decoder")
    }
    guard let pad = config.padTokenId else {
      throw LoomError("T5: config.pad_token_id is null; it replaces -100 in shifted labels")
    }
    return Seq2SeqLMHead.shiftRight(labels, start: start, pad: pad)
  }
}

/// `T5EncoderModel`: the shared embeddings and the encoder alone (HF's name and keys).
public final class T5EncoderModel: Module {
  @Child public var shared: Embedding
  @Child public var encoder: T5Stack
  public let config: T5Config

  public init(_ config: T5Config) throws {
    try config.validate()
    shared = Embedding(config.vocabSize, config.dModel)
    encoder = try T5Stack(config, isDecoder: false)
    self.config = config
    super.init()
    T5Init.apply(self, config)
  }

  /// The encoder's last hidden states [B, S, C].
  public func forward(inputIds: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try T5Core.encode(inputIds, attentionMask: attentionMask, shared: shared, encoder: encoder, config: config)
  }
}

/// HF's `_init_weights` for T5 (initializer_factor f): embeddings and an untied lm_head
/// N(0, f²), attention q N(0, f²/(d_model·d_kv)), k and v N(0, f²/d_model), o
/// N(0, f²/(heads·d_kv)), relative bias N(0, f²/d_model), wi N(0, f²/d_model), wo
/// N(0, f²/d_ff); layer norms ones.
enum T5Init {
  static func apply(_ root: Module, _ config: T5Config) {
    let f = config.initializerFactor
    let (c, kv, inner) = (Double(config.dModel), Double(config.dKv), Double(config.innerDim))
    func normal(_ t: Tensor, _ std: Double) { EncoderInit.normal(t, std: std, generator: .global) }
    noGrad {
      for (name, m) in root.namedModules() {
        if let a = m as? T5Attention {
          normal(a.q.weight, f / (c * kv).squareRoot())
          normal(a.k.weight, f / c.squareRoot())
          normal(a.v.weight, f / c.squareRoot())
          normal(a.o.weight, f / inner.squareRoot())
          if let r = a.relative_attention_bias { normal(r.weight, f / c.squareRoot()) }
        } else if let d = m as? T5DenseActDense {
          normal(d.wi.weight, f / c.squareRoot())
          normal(d.wo.weight, f / Double(config.dFf).squareRoot())
        } else if let d = m as? T5DenseGatedActDense {
          normal(d.wi_0.weight, f / c.squareRoot())
          normal(d.wi_1.weight, f / c.squareRoot())
          normal(d.wo.weight, f / Double(config.dFf).squareRoot())
        } else if name == "shared" || name == "lm_head", let l = m as? Embedding {
          normal(l.weight, f)
        } else if name == "lm_head", let l = m as? Linear {
          normal(l.weight, f)
        }
      }
    }
  }
}

/// Input checks thrown before any work (a bad id would otherwise trap in the lookup).
enum T5Inputs {
  static func check(_ ids: Tensor, _ name: String, _ config: T5Config) throws {
    guard ids.rank == 2, ids.shape[0] > 0, ids.shape[1] > 0 else {
      throw LoomError("T5: \(name) must be [batch, sequence] and non-empty, got shape \(ids.shape)")
    }
    if let bad = ids.int64s.first(where: { $0 < 0 || $0 >= Int64(config.vocabSize) }) {
      throw LoomError(
        "T5: \(name) holds token \(bad), outside the vocabulary (vocab_size \(config.vocabSize))")
    }
  }

  static func checkMask(_ mask: Tensor?, for ids: Tensor) throws {
    if let mask, mask.shape != ids.shape {
      throw LoomError(
        "T5: attention_mask has shape \(mask.shape), input_ids \(ids.shape); they must match")
    }
  }
}
