import Foundation
import LoomCore
import LoomNN

/// `BloomModel`: word embeddings, `word_embeddings_layernorm`, the blocks with ALiBi
/// attention (no position table), `ln_f`.
public final class BloomModel: Module, EncoderModel {
  @Child public var word_embeddings: Embedding
  @Child public var word_embeddings_layernorm: LayerNorm
  @Child public var h: [BloomBlock]
  @Child public var ln_f: LayerNorm
  public let config: BloomConfig

  /// `initialise`: HF's init (N(0, initializer_range) Linears and embeddings); a head
  /// initialises its whole tree once instead.
  init(_ config: BloomConfig, initialise: Bool = true) throws {
    try config.validate()
    self.config = config
    word_embeddings = Embedding(config.vocabSize, config.hiddenSize)
    word_embeddings_layernorm = LayerNorm(config.hiddenSize, eps: config.layerNormEpsilon)
    h = (0..<config.nLayer).map { _ in BloomBlock(config) }
    ln_f = LayerNorm(config.hiddenSize, eps: config.layerNormEpsilon)
    super.init()
    if initialise { EncoderInit.apply(self, std: config.initializerRange, paddingIdx: nil) }
  }

  /// ALiBi has no position table: any length the caller can hold.
  public var maxSequenceLength: Int { 1 << 20 }

  override public func callAsFunction(_ ids: Tensor) -> Tensor {
    self(ids, attentionMask: nil, caches: nil)
  }

  /// Last hidden states [B, T, C] (HF's `last_hidden_state`).
  public func callAsFunction(_ ids: Tensor, attentionMask: Tensor? = nil, caches: [KVCache]? = nil)
    -> Tensor
  {
    hiddenStates(ids: ids, attentionMask: attentionMask, caches: caches).last
  }

  /// The trunk from `ids` [B, T] or `inputsEmbeds` [B, T, C] (prompt tuning prepends to these):
  /// the final hidden states and, with `all`, the embeddings' output then each block's.
  public func hiddenStates(
    ids: Tensor? = nil, inputsEmbeds: Tensor? = nil, attentionMask: Tensor? = nil,
    caches: [KVCache]? = nil,
    all: Bool = false
  ) -> (last: Tensor, all: [Tensor]?) {
    let device = word_embeddings.weight.device
    let embeds: Tensor
    if let inputsEmbeds {
      embeds = inputsEmbeds.to(device: device)
    } else if let ids {
      guard ids.rank == 2 else {
        opFailure("Bloom: input ids must be [batch, sequence], got shape \(ids.shape)")
      }
      embeds = word_embeddings(ids.to(device: device))
    } else {
      opFailure("Bloom: pass input ids or inputs_embeds")
    }
    let (b, t) = (embeds.shape[0], embeds.shape[1])
    let mask = attentionMask?.to(device: device)
    let past = caches?.first?.length ?? 0
    if let mask, mask.shape != [b, past + t] {
      opFailure(
        "Bloom: attention_mask must be [batch, past + new tokens] = [\(b), \(past + t)], got \(mask.shape)"
      )
    }
    var x = word_embeddings_layernorm(embeds)
    let alibi = Alibi.Columns(
      heads: config.nHead, scale: 1 / Double(config.headDim).squareRoot(), batch: b, past: past,
      length: t,
      attentionMask: mask, dtype: x.dtype, device: device)
    // Key padding mask [B, 1, 1, past + T]: true where a real token is.
    let keyMask = mask.map { $0.to(.bool).reshape([b, 1, 1, -1]) }
    var states: [Tensor]? = all ? [x] : nil
    for (i, block) in h.enumerated() {
      let cache = caches?[i]
      x = block.checkpointed(x, enabled: cache == nil) { block($0, alibi: alibi, keyMask: keyMask, cache: cache) }
      states?.append(x)
    }
    let out = ln_f(x)
    if all { states![states!.count - 1] = out }
    return (recordForward(out, inputs: ids.map { [$0] } ?? []), states)
  }

  /// Checked ids and mask, then the trunk: `last_hidden_state` (and `hidden_states`).
  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    try BloomInputs.check(inputs, config: config)
    let (last, all) = hiddenStates(
      ids: inputs.inputIds, attentionMask: inputs.attentionMask, all: inputs.outputHiddenStates)
    var out = EncoderOutput()
    out.lastHiddenState = last
    out.hiddenStates = all
    return out
  }

  /// Fresh per-layer caches (keys carry the ALiBi column, so they are sized on first use).
  func makeCaches(capacity: Int) -> [KVCache] {
    (0..<config.nLayer).map { _ in KVCache(capacity: capacity) }
  }
}

enum BloomInputs {
  static func check(_ inputs: EncoderInputs, config: BloomConfig) throws {
    let ids = inputs.inputIds
    guard ids.rank == 2, ids.shape[1] > 0 else {
      throw LoomError(
        "Bloom: input_ids must be [batch, sequence] with a token or more, got shape \(ids.shape)")
    }
    _ = try EncoderInputCheck.ids(
      ids, name: "input_ids", below: config.vocabSize, field: "vocab_size", model: "Bloom")
    try EncoderInputCheck.shape(inputs.attentionMask, "attention_mask", like: ids, model: "Bloom")
  }
}

/// `BloomForCausalLM`: the trunk and `lm_head` (tied to the word embeddings unless
/// tie_word_embeddings is false); the loss is next-token cross-entropy, −100 ignored.
public final class BloomForCausalLM: Module, CausalLanguageModel, EncoderModel {
  @Child public var transformer: BloomModel
  /// The untied head (weight [vocab, hidden]); nil when tied to `transformer.word_embeddings`.
  @Child public var lm_head: Linear?
  public let config: BloomConfig

  public init(_ config: BloomConfig) throws {
    transformer = try BloomModel(config, initialise: false)
    lm_head =
      config.tieWordEmbeddings ? nil : Linear(config.hiddenSize, config.vocabSize, bias: false)
    self.config = config
    super.init()
    EncoderInit.apply(self, std: config.initializerRange, paddingIdx: nil)
  }

  public var vocabularySize: Int { config.vocabSize }
  public var maxPositions: Int { Int.max }
  public var maxSequenceLength: Int { transformer.maxSequenceLength }
  var headWeight: Tensor { lm_head?.weight ?? transformer.word_embeddings.weight }

  override public func callAsFunction(_ ids: Tensor) -> Tensor {
    self(ids, attentionMask: nil, caches: nil)
  }

  /// Logits [B, T, V].
  public func callAsFunction(_ ids: Tensor, attentionMask: Tensor? = nil, caches: [KVCache]? = nil)
    -> Tensor
  {
    recordForward(
      linear(transformer(ids, attentionMask: attentionMask, caches: caches), weight: headWeight),
      inputs: [ids])
  }

  /// Logits for `inputsEmbeds` [B, T, C] (HF's `inputs_embeds=`).
  public func logits(inputsEmbeds: Tensor, attentionMask: Tensor? = nil) -> Tensor {
    linear(
      transformer.hiddenStates(inputsEmbeds: inputsEmbeds, attentionMask: attentionMask).last,
      weight: headWeight)
  }

  /// HF's causal-LM loss: logits at t predict labels at t + 1, −100 ignored, mean over the rest.
  public static func causalLoss(_ logits: Tensor, labels: Tensor) -> Tensor {
    let (t, v) = (logits.shape[1], logits.shape[2])
    let targets = labels.to(device: logits.device).to(.int64).slice(dim: 1, start: 1, end: t)
    return crossEntropy(
      logits.slice(dim: 1, start: 0, end: t - 1).reshape([-1, v]),
      targets.contiguous().reshape([-1]))
  }

  /// `logits` and, with labels, the loss (the Trainer's entry point).
  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    try BloomInputs.check(inputs, config: config)
    try EncoderInputCheck.shape(
      inputs.labels, "labels", like: inputs.inputIds, model: "BloomForCausalLM")
    let (last, all) = transformer.hiddenStates(
      ids: inputs.inputIds, attentionMask: inputs.attentionMask, all: inputs.outputHiddenStates)
    var out = EncoderOutput()
    out.lastHiddenState = last
    out.hiddenStates = all
    let logits = linear(last, weight: headWeight)
    out.logits = logits
    if let labels = inputs.labels { out.loss = Self.causalLoss(logits, labels: labels) }
    return out
  }

  public func makeState(batch: Int, capacity: Int) -> GenerationState {
    GenerationState(selfAttention: transformer.makeCaches(capacity: capacity))
  }

  public func logits(ids: Tensor, attentionMask: Tensor?, state: GenerationState?) -> Tensor {
    self(ids, attentionMask: attentionMask, caches: state?.selfAttention)
  }
}
