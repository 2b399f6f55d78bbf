import Foundation
import LoomCore
import LoomNN

/// What a Switch Transformers forward returns (HF's `Seq2SeqMoEOutput`).
public struct SwitchTransformersOutput {
  /// The decoder's last hidden states [B, T, C] (after its final_layer_norm).
  public var lastHiddenState: Tensor
  public var encoderLastHiddenState: Tensor
  /// Each sparse layer's router logits [B, S or T, num_experts] (float32), in block order.
  public var encoderRouterLogits: [Tensor]
  public var decoderRouterLogits: [Tensor]
  /// [B, T, V] for the LM head.
  public var logits: Tensor?
  /// The LM loss plus, with output_router_logits, the weighted router losses.
  public var loss: Tensor?
  /// Mean cross-entropy over labels ≠ −100 alone.
  public var lmLoss: Tensor?
  /// Unweighted router losses (with output_router_logits); 0 for a stack whose sparse step
  /// is 1 or less, as transformers computes them.
  public var encoderZLoss: Tensor?
  public var encoderAuxLoss: Tensor?
  public var decoderZLoss: Tensor?
  public var decoderAuxLoss: Tensor?
}

/// `SwitchTransformersForConditionalGeneration`: T5 (`shared`, encoder, decoder, lm_head tied
/// to `shared` with the decoder output scaled by d_model^-0.5 when tie_word_embeddings)
/// whose sparse blocks' feed-forwards are mixtures of experts.
public final class SwitchTransformersForConditionalGeneration: Module, EncoderDecoderModel {
  @Child public var shared: Embedding
  @Child public var encoder: T5Stack
  @Child public var decoder: T5Stack
  @Child public var lm_head: Linear?
  public let config: SwitchTransformersConfig
  let t5: T5Config

  public init(_ config: SwitchTransformersConfig) throws {
    try config.validate()
    shared = Embedding(config.vocabSize, config.dModel)
    encoder = try SwitchStack.make(config, isDecoder: false)
    decoder = try SwitchStack.make(config, isDecoder: true)
    lm_head = config.tieWordEmbeddings ? nil : Linear(config.dModel, config.vocabSize, bias: false)
    self.config = config
    t5 = config.t5
    super.init()
    SwitchStack.initialize(self, config)
  }

  /// Logits [B, T, V] from decoder hidden states.
  func logits(_ hidden: Tensor) -> Tensor {
    let h = config.tieWordEmbeddings ? hidden * (1 / Double(config.dModel).squareRoot()) : hidden
    return linear(h, weight: lm_head?.weight ?? shared.weight)
  }

  /// HF's `_shift_right`, which needs decoder_start_token_id set.
  public func shiftRight(_ labels: Tensor) throws -> Tensor {
    guard config.decoderStartTokenId != nil else {
      throw LoomError(
        "Switch Transformers: config.decoder_start_token_id is null; set it to the pad token (0), as SwitchTransformersConfig(decoder_start_token_id=0) does"
      )
    }
    return try T5Model.shiftRight(labels, t5)
  }

  public func encode(_ ids: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try T5Core.encode(
      ids, attentionMask: attentionMask, shared: shared, encoder: encoder, config: t5)
  }

  /// HF's forward: with `labels` [B, T] (−100 ignored) and no `decoderInputIds`, the decoder
  /// reads the labels shifted right. `outputRouterLogits` (HF's `output_router_logits`, false
  /// by default there too) computes each stack's router z-loss and load-balancing loss over
  /// its sparse layers' logits concatenated along tokens, and adds
  /// router_z_loss_coef·(z_enc + z_dec) + router_aux_loss_coef·(aux_enc + aux_dec) to the loss.
  public func forward(
    inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil,
    decoderAttentionMask: Tensor? = nil, labels: Tensor? = nil, outputRouterLogits: Bool = false
  ) throws -> SwitchTransformersOutput {
    let dec = try decoderIds(decoderInputIds, labels: labels)
    let enc = try encode(inputIds, attentionMask: attentionMask)
    return try decoding(
      enc, attentionMask: attentionMask, decoderInputIds: dec, decoderAttentionMask: decoderAttentionMask,
      labels: labels, outputRouterLogits: outputRouterLogits)
  }

  /// The same from HF's `inputs_embeds` [B, S, d_model] (prompt tuning's entry).
  public func forward(
    inputsEmbeds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil,
    decoderAttentionMask: Tensor? = nil, labels: Tensor? = nil, outputRouterLogits: Bool = false
  ) throws -> SwitchTransformersOutput {
    let dec = try decoderIds(decoderInputIds, labels: labels)
    let enc = try encoderOutputs(inputsEmbeds: inputsEmbeds, attentionMask: attentionMask)
    return try decoding(
      enc, attentionMask: attentionMask, decoderInputIds: dec, decoderAttentionMask: decoderAttentionMask,
      labels: labels, outputRouterLogits: outputRouterLogits)
  }

  /// Encoder outputs [B, S, C] from HF's `inputs_embeds` (the encoder's routings stay recorded).
  public func encoderOutputs(inputsEmbeds: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try T5Core.encode(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, encoder: encoder, config: t5,
      device: shared.weight.device)
  }

  /// `decoderInputIds`, else `labels` [B, T] shifted right.
  func decoderIds(_ decoderInputIds: Tensor?, labels: Tensor?) throws -> Tensor {
    if let labels, labels.rank != 2 {
      throw LoomError(
        "Switch Transformers: labels must be [batch, target length], got shape \(labels.shape)")
    }
    guard let dec = try decoderInputIds ?? labels.map({ try shiftRight($0) }) else {
      throw LoomError(
        "SwitchTransformersForConditionalGeneration: pass labels or decoder_input_ids for the decoder"
      )
    }
    return dec
  }

  /// The decoder, LM head, loss and router losses over encoder outputs `enc` (just computed:
  /// the encoder's routings are taken here).
  func decoding(
    _ enc: Tensor, attentionMask: Tensor?, decoderInputIds dec: Tensor, decoderAttentionMask: Tensor?,
    labels: Tensor?, outputRouterLogits: Bool
  ) throws -> SwitchTransformersOutput {
    let encRoutings = SwitchStack.takeRoutings(encoder)
    let h = try T5Core.decode(
      dec, decoderAttentionMask: decoderAttentionMask, encoderHiddenStates: enc,
      encoderMask: attentionMask, state: nil, shared: shared, decoder: decoder, config: t5)
    let decRoutings = SwitchStack.takeRoutings(decoder)
    let logits = self.logits(h)
    var out = SwitchTransformersOutput(
      lastHiddenState: h, encoderLastHiddenState: enc,
      encoderRouterLogits: encRoutings.map(\.routerLogits),
      decoderRouterLogits: decRoutings.map(\.routerLogits), logits: logits)
    if outputRouterLogits {
      let zero = Tensor.scalar(0, dtype: logits.dtype, device: logits.device)
      func losses(_ r: [Routing], step: Int) -> (Tensor, Tensor) {
        // transformers skips a stack whose sparse step is 1 (all blocks sparse) or 0.
        guard step > 1, let l = RouterLosses.losses(r) else { return (zero, zero) }
        return (l.zLoss.to(logits.dtype), l.auxLoss.to(logits.dtype))
      }
      let (ez, ea) = losses(encRoutings, step: config.encoderSparseStep)
      let (dz, da) = losses(decRoutings, step: config.decoderSparseStep)
      out.encoderZLoss = ez
      out.encoderAuxLoss = ea
      out.decoderZLoss = dz
      out.decoderAuxLoss = da
    }
    if let labels {
      let lm = try Seq2SeqLMHead.loss(
        logits: logits, labels: labels, vocabSize: config.vocabSize, model: "Switch Transformers")
      out.lmLoss = lm
      out.loss = lm
      if let parts = routerLossParts(out) { out.loss = lm + parts.z + parts.aux }
    }
    return out
  }

  /// router_z_loss_coef·(z_enc + z_dec) and router_aux_loss_coef·(aux_enc + aux_dec).
  func routerLossParts(_ out: SwitchTransformersOutput) -> (z: Tensor, aux: Tensor)? {
    guard let ez = out.encoderZLoss, let dz = out.decoderZLoss, let ea = out.encoderAuxLoss,
      let da = out.decoderAuxLoss
    else { return nil }
    return ((ez + dz) * config.routerZLossCoef, (ea + da) * config.routerAuxLossCoef)
  }

  // MARK: EncoderDecoderModel

  public var vocabularySize: Int { config.vocabSize }
  /// Relative positions: no position limit.
  public var maxPositions: Int { Int.max }
  /// decoder_start_token_id, else bos_token_id (HF generate's fallback), else the pad token.
  public var decoderStartTokenId: Int {
    config.decoderStartTokenId ?? config.bosTokenId ?? config.padTokenId ?? 0
  }

  public func encode(ids: Tensor, attentionMask: Tensor?) -> GenerationState {
    let hidden: Tensor
    do { hidden = try encode(ids, attentionMask: attentionMask) } catch {
      fatalError("Loom: \(error)")
    }
    return generationState(encoded: hidden, attentionMask: attentionMask)
  }

  /// Empty decoder caches over encoder outputs `hidden` (the encoder's routings dropped).
  func generationState(encoded hidden: Tensor, attentionMask: Tensor?) -> GenerationState {
    _ = SwitchStack.takeRoutings(encoder)
    return GenerationState(
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
        config: t5)
    } catch { fatalError("Loom: \(error)") }
    _ = SwitchStack.takeRoutings(decoder)
    return logits(hidden)
  }
}

extension SwitchTransformersForConditionalGeneration: Seq2SeqLanguageModel {
  /// The loss with the router losses (output_router_logits=True); parts "z_loss" and
  /// "aux_loss" are their weighted terms.
  public func seq2seqForward(
    inputIds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput {
    let out = try forward(
      inputIds: inputIds, attentionMask: attentionMask, decoderInputIds: decoderInputIds,
      decoderAttentionMask: decoderAttentionMask, labels: labels, outputRouterLogits: true)
    let parts = routerLossParts(out)
    return Seq2SeqLMOutput(
      loss: out.loss!, logits: out.logits!,
      parts: parts.map { ["z_loss": $0.z, "aux_loss": $0.aux] } ?? [:])
  }
}

/// `SwitchTransformersModel`: the shared embeddings, encoder and decoder (no LM head).
public final class SwitchTransformersModel: Module {
  @Child public var shared: Embedding
  @Child public var encoder: T5Stack
  @Child public var decoder: T5Stack
  public let config: SwitchTransformersConfig
  let t5: T5Config

  public init(_ config: SwitchTransformersConfig) throws {
    try config.validate()
    shared = Embedding(config.vocabSize, config.dModel)
    encoder = try SwitchStack.make(config, isDecoder: false)
    decoder = try SwitchStack.make(config, isDecoder: true)
    self.config = config
    t5 = config.t5
    super.init()
    SwitchStack.initialize(self, config)
  }

  /// The decoder's last hidden states, the encoder's and both stacks' router logits.
  public func forward(
    inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor,
    decoderAttentionMask: Tensor? = nil
  ) throws -> SwitchTransformersOutput {
    let enc = try T5Core.encode(
      inputIds, attentionMask: attentionMask, shared: shared, encoder: encoder, config: t5)
    let encRoutings = SwitchStack.takeRoutings(encoder)
    let h = try T5Core.decode(
      decoderInputIds, decoderAttentionMask: decoderAttentionMask, encoderHiddenStates: enc,
      encoderMask: attentionMask, state: nil, shared: shared, decoder: decoder, config: t5)
    return SwitchTransformersOutput(
      lastHiddenState: h, encoderLastHiddenState: enc,
      encoderRouterLogits: encRoutings.map(\.routerLogits),
      decoderRouterLogits: SwitchStack.takeRoutings(decoder).map(\.routerLogits))
  }
}

extension SwitchTransformersModel: PretrainedModel {
  public static func make(config: SwitchTransformersConfig) throws -> Module {
    try SwitchTransformersModel(config)
  }
  public static var architecture: String { "SwitchTransformersModel" }
  public var tiedWeightKeys: [String] { T5Checkpoint.embedCopies }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: SwitchTransformersConfig)
  {
    T5Checkpoint.fixUp(&w, dropping: ["lm_head."])
  }
}

extension SwitchTransformersForConditionalGeneration: PretrainedModel {
  public static func make(config: SwitchTransformersConfig) throws -> Module {
    try SwitchTransformersForConditionalGeneration(config)
  }
  public static var architecture: String { "SwitchTransformersForConditionalGeneration" }
  public var tiedWeightKeys: [String] {
    T5Checkpoint.embedCopies + (config.tieWordEmbeddings ? ["lm_head.weight"] : [])
  }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: SwitchTransformersConfig)
  {
    T5Checkpoint.fixUp(&w, dropping: [])
  }
}
