import Foundation
import LoomCore
import LoomNN

/// The Llama trunk (`LlamaModel`): token embeddings, decoder layers, final RMSNorm.
public final class LlamaModel: Module, EncoderModel {
  @Child public var embed_tokens: Embedding
  @Child public var layers: [LlamaDecoderLayer]
  @Child public var norm: RMSNorm
  public let config: LlamaConfig
  let _rotary: RotaryEmbedding

  public init(_ config: LlamaConfig) throws {
    try config.validate()
    embed_tokens = Embedding(config.vocabSize, config.hiddenSize)
    layers = (0..<config.numHiddenLayers).map { _ in LlamaDecoderLayer(config) }
    norm = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
    _rotary = try RotaryEmbedding(headDim: config.headDimension, base: config.ropeTheta)
    self.config = config
    super.init()
    LlamaInit.apply(self, config)
  }

  public var maxSequenceLength: Int { config.maxPositionEmbeddings }

  override public func callAsFunction(_ ids: Tensor) -> Tensor { self(ids, attentionMask: nil) }

  /// Last hidden states [B, T, C]. Positions default to past..<past + T (HF's forward);
  /// generation passes them from the attention mask.
  public func callAsFunction(
    _ ids: Tensor, attentionMask: Tensor? = nil, positionIds: Tensor? = nil,
    caches: [KVCache]? = nil
  ) -> Tensor {
    guard ids.rank == 2 else {
      opFailure("Llama: input ids must be [batch, sequence], got shape \(ids.shape)")
    }
    let ids = ids.to(device: embed_tokens.weight.device)
    var x = embed_tokens(ids)
    // nn.Embedding(padding_idx=pad_token_id): the padding row gets no gradient.
    if config.padTokenId != nil, x.requiresGrad {
      x = PaddingRow.stopGradient(x, ids: ids.to(.int64).int64s, paddingIdx: config.padTokenId)
    }
    return recordForward(
      self(inputsEmbeds: x, attentionMask: attentionMask, positionIds: positionIds, caches: caches),
      inputs: [ids])
  }

  /// Last hidden states [B, T, C] from `inputsEmbeds` [B, T, C] (HF's `inputs_embeds`; prompt
  /// tuning prepends to these), positions as for ids.
  public func callAsFunction(
    inputsEmbeds: Tensor, attentionMask: Tensor? = nil, positionIds: Tensor? = nil,
    caches: [KVCache]? = nil
  ) -> Tensor {
    guard inputsEmbeds.rank == 3, inputsEmbeds.shape[2] == config.hiddenSize else {
      opFailure(
        "Llama: inputs_embeds must be [batch, sequence, \(config.hiddenSize)], got shape \(inputsEmbeds.shape)")
    }
    let device = embed_tokens.weight.device
    var x = inputsEmbeds.to(device: device)
    let attentionMask = attentionMask?.to(device: device)
    let (b, t) = (x.shape[0], x.shape[1])
    let past = caches?.first?.length ?? 0
    let positions =
      positionIds?.to(.int64).to(device: device)
      ?? Tensor.arange(Double(past), Double(past + t), device: device).to(.int64).reshape([1, t])
      .expand([b, t])
    let rotary = LlamaRotary(_rotary, positions: positions.expand([b, t]), dtype: x.dtype)
    // Key padding mask [B, 1, 1, past + T]: true where a real token is.
    let keyMask = attentionMask.map { $0.to(.bool).reshape([b, 1, 1, -1]) }
    for (i, layer) in layers.enumerated() {
      let cache = caches?[i]
      x = layer.checkpointed(x, enabled: cache == nil) { layer($0, rotary: rotary, keyMask: keyMask, cache: cache) }
    }
    return norm(x)
  }

  /// transformers' generation positions: cumsum(attention_mask) − 1, padding at 0, for the
  /// last `length` columns of the [B, past + T] mask.
  static func generationPositions(attentionMask mask: Tensor, length: Int) -> Tensor {
    let out = MaskPositions.positions(mask, lastColumns: length, padding: .constant(0))
    return Tensor(out, shape: [mask.shape[0], length], device: mask.device)
  }

  /// The encoder-style entry point (feature extraction; the heads call the trunk through it).
  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    let ids = inputs.inputIds
    guard ids.rank == 2 else {
      throw LoomError("Llama: input_ids must be [batch, sequence], got shape \(ids.shape)")
    }
    _ = try EncoderInputCheck.ids(
      ids, name: "input_ids", below: config.vocabSize, field: "vocab_size", model: "Llama")
    try EncoderInputCheck.shape(inputs.attentionMask, "attention_mask", like: ids, model: "Llama")
    try EncoderInputCheck.shape(inputs.positionIds, "position_ids", like: ids, model: "Llama")
    var out = EncoderOutput()
    out.lastHiddenState = self(
      ids, attentionMask: inputs.attentionMask, positionIds: inputs.positionIds)
    return out
  }

  /// Fresh per-layer caches holding the K/V heads.
  func makeCaches(batch: Int, capacity: Int) -> [KVCache] {
    (0..<config.numHiddenLayers).map { _ in
      KVCache(
        batch: batch, heads: config.keyValueHeads, capacity: capacity,
        headDim: config.headDimension,
        dtype: embed_tokens.weight.dtype, device: embed_tokens.weight.device)
    }
  }
}

/// `LlamaForCausalLM`: the trunk and an LM head (`lm_head`, or the embeddings when
/// tie_word_embeddings is true).
public final class LlamaForCausalLM: Module, CausalLanguageModel {
  @Child public var model: LlamaModel
  /// nil when tied to `model.embed_tokens`.
  @Child public var lm_head: Linear?
  public let config: LlamaConfig

  public init(_ config: LlamaConfig) throws {
    model = try LlamaModel(config)
    let head =
      config.tieWordEmbeddings ? nil : Linear(config.hiddenSize, config.vocabSize, bias: false)
    if let head { LlamaInit.apply(head, config) }
    lm_head = head
    self.config = config
    super.init()
  }

  public var vocabularySize: Int { config.vocabSize }
  public var maxPositions: Int { config.maxPositionEmbeddings }

  override public func callAsFunction(_ ids: Tensor) -> Tensor { self(ids, attentionMask: nil) }

  /// Logits [B, T, V].
  public func callAsFunction(
    _ ids: Tensor, attentionMask: Tensor? = nil, positionIds: Tensor? = nil,
    caches: [KVCache]? = nil
  ) -> Tensor {
    let hidden = model(ids, attentionMask: attentionMask, positionIds: positionIds, caches: caches)
    let logits = lm_head.map { $0(hidden) } ?? linear(hidden, weight: model.embed_tokens.weight)
    return recordForward(logits, inputs: [ids])
  }

  /// Next-token cross-entropy (labels shifted inside, −100 ignored), as HF's `labels=`.
  public func loss(_ ids: Tensor, labels: Tensor, attentionMask: Tensor? = nil) -> (
    loss: Tensor, logits: Tensor
  ) {
    let logits = self(ids, attentionMask: attentionMask)
    let t = ids.shape[1]
    let shifted = logits.slice(dim: 1, start: 0, end: t - 1)
    let targets = labels.to(device: logits.device).slice(dim: 1, start: 1, end: t)
    let loss = crossEntropy(
      shifted.reshape([-1, config.vocabSize]), targets.contiguous().reshape([-1]))
    return (loss, logits)
  }

  public func makeCaches(batch: Int, capacity: Int) -> [KVCache] {
    model.makeCaches(batch: batch, capacity: capacity)
  }

  public func makeState(batch: Int, capacity: Int) -> GenerationState {
    GenerationState(selfAttention: makeCaches(batch: batch, capacity: capacity))
  }

  /// Positions come from the mask, so left-padded prompts start at 0 (as transformers' generate).
  public func logits(ids: Tensor, attentionMask: Tensor?, state: GenerationState?) -> Tensor {
    let positions = attentionMask.map {
      LlamaModel.generationPositions(attentionMask: $0, length: ids.shape[1])
    }
    return self(
      ids, attentionMask: attentionMask, positionIds: positions, caches: state?.selfAttention)
  }
}

/// HF's `_init_weights` for Llama: Linear and Embedding N(0, initializer_range), biases
/// zero, the padding row zero; RMSNorm weights start at one.
enum LlamaInit {
  static func apply(_ root: Module, _ config: LlamaConfig) {
    EncoderInit.apply(root, std: config.initializerRange, paddingIdx: nil)
    noGrad {
      for (_, m) in root.namedModules() {
        if let e = m as? Embedding, let p = config.padTokenId, p < e.weight.shape[0] {
          e.weight[p].fill(0)
        }
      }
    }
  }
}
