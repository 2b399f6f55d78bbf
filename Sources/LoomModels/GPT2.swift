import Foundation
import LoomCore
import LoomNN

/// Hugging Face's Conv1D: y = x·W + b with W stored [in, out].
open class Conv1D: Module {
  @Parameter public var weight: Tensor
  @Parameter public var bias: Tensor

  public init(_ inFeatures: Int, _ outFeatures: Int, std: Double, generator: Generator = .global) {
    weight = Init.normal([inFeatures, outFeatures], std: std, generator: generator)
    bias = Init.zeros([outFeatures])
    super.init()
  }

  /// A Conv1D over existing tensors (weight [in, out]), e.g. an adapter subclass that
  /// keeps the layer it wraps.
  public init(weight: Tensor, bias: Tensor) {
    self.weight = weight
    self.bias = bias
    super.init()
  }

  override open func forward(_ x: Tensor) -> Tensor { addmm(x, weight: weight, bias: bias) }

  /// Hugging Face prints nf (out) and nx (in).
  override open var extraDescription: String { "nf=\(weight.shape[1]), nx=\(weight.shape[0])" }
}

/// Causal multi-head self-attention with fused QKV projection.
public final class GPT2Attention: Module {
  @Child public var c_attn: Conv1D
  @Child public var c_proj: Conv1D
  let heads: Int
  let scale: Double
  let attnDropout: Double
  let residDropout: Double

  init(_ config: GPT2Config, layerIndex: Int, generator: Generator) {
    let c = config.nEmbd
    c_attn = Conv1D(c, 3 * c, std: config.initializerRange, generator: generator)
    c_proj = Conv1D(c, c, std: config.initializerRange / (2.0 * Double(config.nLayer)).squareRoot(), generator: generator)
    heads = config.nHead
    var s = config.scaleAttnWeights ? 1 / Double(c / config.nHead).squareRoot() : 1
    if config.scaleAttnByInverseLayerIdx { s /= Double(layerIndex + 1) }
    scale = s
    attnDropout = config.attnPdrop
    residDropout = config.residPdrop
    super.init()
  }

  func callAsFunction(_ x: Tensor, keyMask: Tensor?, cache: KVCache?) -> Tensor {
    let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let qkv = c_attn(x).reshape([b, t, 3, heads, c / heads])
    // [B, T, 3, H, D] → three [B, H, T, D] views (no copies).
    var q = qkv.select(dim: 2, index: 0).transpose(1, 2)
    var k = qkv.select(dim: 2, index: 1).transpose(1, 2)
    var v = qkv.select(dim: 2, index: 2).transpose(1, 2)
    if let cache { (k, v) = cache.append(keys: k, values: v) }
    q = q.contiguousIfNeeded()
    let y = scaledDotProductAttention(
      q, k, v, mask: keyMask, isCausal: true, dropoutP: attnDropout, training: training, scale: scale)
    let merged = y.transpose(1, 2).reshape([b, t, c])
    return recordForward(dropout(c_proj(merged), p: residDropout, training: training), inputs: [x])
  }
}

extension Tensor {
  /// Attention reads q with any strides whose last dim is dense.
  func contiguousIfNeeded() -> Tensor { strides.last == 1 ? self : contiguous() }
}

public final class GPT2MLP: Module {
  @Child public var c_fc: Conv1D
  @Child public var c_proj: Conv1D
  let activation: Activation
  let residDropout: Double

  init(_ config: GPT2Config, generator: Generator) {
    let inner = config.nInner ?? 4 * config.nEmbd
    c_fc = Conv1D(config.nEmbd, inner, std: config.initializerRange, generator: generator)
    c_proj = Conv1D(inner, config.nEmbd, std: config.initializerRange / (2.0 * Double(config.nLayer)).squareRoot(), generator: generator)
    activation = config.activationFunction
    residDropout = config.residPdrop
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    dropout(c_proj(activation(c_fc(x))), p: residDropout, training: training)
  }
}

public final class GPT2Block: Module {
  @Child public var ln_1: LayerNorm
  @Child public var attn: GPT2Attention
  @Child public var ln_2: LayerNorm
  /// `GPT2MLP`, or with num_experts > 0 a `MixtureOfExperts` of GPT2MLPs (`mlp.router.classifier`,
  /// `mlp.experts.expert_N.c_fc` …), each initialised like the dense MLP.
  @Child public var mlp: Module

  init(_ config: GPT2Config, layerIndex: Int, generator: Generator) throws {
    ln_1 = LayerNorm(config.nEmbd, eps: config.layerNormEpsilon)
    attn = GPT2Attention(config, layerIndex: layerIndex, generator: generator)
    ln_2 = LayerNorm(config.nEmbd, eps: config.layerNormEpsilon)
    if config.numExperts > 0 {
      let moe = try MixtureOfExperts(
        hidden: config.nEmbd, numExperts: config.numExperts, topK: config.numExpertsPerTok,
        capacity: config.expertCapacity, jitterNoise: config.routerJitterNoise, generator: generator
      ) { _ in GPT2MLP(config, generator: generator) }
      // HF initialises every Linear N(0, initializer_range).
      Init.redrawNormal(moe.router.classifier.weight, std: config.initializerRange, generator: generator)
      mlp = moe
    } else {
      mlp = GPT2MLP(config, generator: generator)
    }
    super.init()
  }

  func callAsFunction(_ x: Tensor, keyMask: Tensor?, cache: KVCache?) -> Tensor {
    let h = x + attn(ln_1(x), keyMask: keyMask, cache: cache)
    return recordForward(h + mlp(ln_2(h)), inputs: [x])
  }
}

/// The transformer trunk (`GPT2Model`): embeddings, blocks, final norm.
public final class GPT2Model: Module {
  @Child public var wte: Embedding
  @Child public var wpe: Embedding
  @Child public var h: [GPT2Block]
  @Child public var ln_f: LayerNorm
  public let config: GPT2Config

  init(_ config: GPT2Config, generator: Generator) throws {
    let tokens = Embedding(config.vocabSize, config.nEmbd, generator: generator)
    let positions = Embedding(config.nPositions, config.nEmbd, generator: generator)
    for e in [tokens, positions] { Init.redrawNormal(e.weight, std: config.initializerRange, generator: generator) }
    wte = tokens
    wpe = positions
    h = try (0..<config.nLayer).map { try GPT2Block(config, layerIndex: $0, generator: generator) }
    ln_f = LayerNorm(config.nEmbd, eps: config.layerNormEpsilon)
    self.config = config
    super.init()
  }

  override public func callAsFunction(_ ids: Tensor) -> Tensor { self(ids, attentionMask: nil, caches: nil) }

  /// Last hidden states [B, T, C] (HF's `last_hidden_state`).
  public func callAsFunction(_ ids: Tensor, attentionMask: Tensor? = nil, caches: [KVCache]? = nil) -> Tensor {
    guard ids.rank == 2 else { opFailure("GPT2: input ids must be [batch, sequence], got shape \(ids.shape)") }
    // Host-built ids and masks follow the weights to their device (a no-op when already there).
    let device = wte.weight.device
    let ids = ids.to(device: device), attentionMask = attentionMask?.to(device: device)
    let (b, t) = (ids.shape[0], ids.shape[1])
    let past = caches?.first?.length ?? 0
    guard past + t <= config.nPositions else {
      opFailure("GPT2: sequence of \(past + t) tokens is longer than n_positions = \(config.nPositions)")
    }
    let positions = Self.positionIDs(
      batch: b, past: past, length: t, attentionMask: attentionMask, device: ids.device)
    let x = wte(ids) + wpe(positions)
    return recordForward(trunk(x, attentionMask: attentionMask, caches: caches), inputs: [ids])
  }

  /// Last hidden states for input embeddings [B, T, C] given instead of ids (HF's `inputs_embeds`).
  /// `positionIds` [B or 1, T]; nil counts past ..< past + T, as HF's forward does without
  /// position_ids (PEFT's prompt tuning drops them, so padding takes positions too).
  public func callAsFunction(
    inputsEmbeds: Tensor, attentionMask: Tensor? = nil, positionIds: Tensor? = nil, caches: [KVCache]? = nil
  ) -> Tensor {
    guard inputsEmbeds.rank == 3, inputsEmbeds.shape[2] == config.nEmbd else {
      opFailure("GPT2: inputs_embeds must be [batch, sequence, \(config.nEmbd)], got shape \(inputsEmbeds.shape)")
    }
    let device = wte.weight.device
    let embeds = inputsEmbeds.to(device: device), attentionMask = attentionMask?.to(device: device)
    let t = embeds.shape[1]
    let past = caches?.first?.length ?? 0
    guard past + t <= config.nPositions else {
      opFailure("GPT2: sequence of \(past + t) tokens is longer than n_positions = \(config.nPositions)")
    }
    let positions =
      positionIds?.to(device: device)
      ?? Tensor.arange(Double(past), Double(past + t), device: device).reshape([1, t])
    let x = embeds + wpe(positions)
    return recordForward(trunk(x, attentionMask: attentionMask, caches: caches), inputs: [inputsEmbeds])
  }

  /// Embedding dropout, the blocks and the final norm over summed token and position embeddings.
  private func trunk(_ embedded: Tensor, attentionMask: Tensor?, caches: [KVCache]?) -> Tensor {
    var x = dropout(embedded, p: config.embdPdrop, training: training)
    // Key padding mask [B, 1, 1, past + T]: true where a real token is.
    let keyMask = attentionMask.map { $0.to(.bool).reshape([x.shape[0], 1, 1, -1]) }
    for (i, block) in h.enumerated() {
      // Mixture-of-experts blocks keep their routing for the loss, so they always run directly.
      let cache = caches?[i]
      x = block.checkpointed(x, enabled: cache == nil && block.mlp is GPT2MLP) {
        block($0, keyMask: keyMask, cache: cache)
      }
    }
    return ln_f(x)
  }

  /// Positions count real tokens only, so left-padded prompts start at 0 (HF's
  /// cumsum(attention_mask) − 1, with padding positions set to 1).
  public static func positionIDs(
    batch: Int, past: Int, length: Int, attentionMask: Tensor?, device: Device = .default
  ) -> Tensor {
    guard let mask = attentionMask else {
      return Tensor.arange(Double(past), Double(past + length), device: device).reshape([1, length])
        .expand([batch, length])
    }
    let out = MaskPositions.positions(mask, lastColumns: length, padding: .constant(1))
    return Tensor(out, shape: [batch, length], device: mask.device)
  }
}

/// GPT-2 with a language-modelling head (`GPT2LMHeadModel`): tied to the input
/// embedding unless `tie_word_embeddings` is false. Loads and saves Hugging Face directories.
public final class GPT2LMHeadModel: Module, CausalLanguageModel {
  @Child public var transformer: GPT2Model
  /// The untied head (weight [vocab, n_embd]); nil when tied to `transformer.wte`.
  @Child public var lm_head: Linear?
  public let config: GPT2Config

  public init(_ config: GPT2Config, generator: Generator = .global) throws {
    try config.validate()
    self.config = config
    transformer = try GPT2Model(config, generator: generator)
    let head = config.tieWordEmbeddings ? nil : Linear(config.nEmbd, config.vocabSize, bias: false, generator: generator)
    if let head {  // HF initialises every Linear N(0, initializer_range)
      Init.redrawNormal(head.weight, std: config.initializerRange, generator: generator)
    }
    lm_head = head
    super.init()
  }

  public var vocabularySize: Int { config.vocabSize }
  public var maxPositions: Int { config.nPositions }

  override public func callAsFunction(_ ids: Tensor) -> Tensor { self(ids, attentionMask: nil, caches: nil) }

  /// Logits [B, T, V].
  public func callAsFunction(_ ids: Tensor, attentionMask: Tensor? = nil, caches: [KVCache]? = nil) -> Tensor {
    let logits = linear(
      transformer(ids, attentionMask: attentionMask, caches: caches), weight: lm_head?.weight ?? transformer.wte.weight)
    return recordForward(logits, inputs: [ids])
  }

  /// Next-token cross-entropy: logits at t predict labels at t + 1 (labels are the
  /// input ids, −100 ignored), like HF's `labels=` argument. A mixture-of-experts model adds
  /// router_z_loss_coef · z_loss + router_aux_loss_coef · aux_loss (Switch Transformers' loss).
  public func loss(_ ids: Tensor, labels: Tensor, attentionMask: Tensor? = nil) -> (loss: Tensor, logits: Tensor) {
    let out = lossOutput(ids, labels: labels, attentionMask: attentionMask)
    return (out.loss, out.logits)
  }

  /// `loss` with its router parts unscaled (`z_loss`, `aux_loss`; empty for a dense model).
  public func lossOutput(_ ids: Tensor, labels: Tensor, attentionMask: Tensor? = nil)
    -> (loss: Tensor, parts: [String: Tensor], logits: Tensor)
  {
    lossOutput(logits: self(ids, attentionMask: attentionMask), labels: labels)
  }

  /// `lossOutput` for logits already computed (from ids or from input embeddings).
  func lossOutput(logits: Tensor, labels: Tensor) -> (loss: Tensor, parts: [String: Tensor], logits: Tensor) {
    let t = logits.shape[1]
    let shifted = logits.slice(dim: 1, start: 0, end: t - 1)
    let targets = labels.slice(dim: 1, start: 1, end: t)
    let lm = crossEntropy(shifted.reshape([-1, config.vocabSize]), targets.contiguous().reshape([-1]))
    guard let router = RouterLosses.losses(takeRoutings()) else { return (lm, [:], logits) }
    let total = lm + router.zLoss * config.routerZLossCoef + router.auxLoss * config.routerAuxLossCoef
    return (total, ["z_loss": router.zLoss, "aux_loss": router.auxLoss], logits)
  }

  /// The blocks' mixture-of-experts layers (empty for a dense model).
  public var expertLayers: [MixtureOfExperts] { transformer.h.compactMap { $0.mlp as? MixtureOfExperts } }

  /// The routing of the last forward pass, one per MoE layer, cleared from the layers.
  func takeRoutings() -> [Routing] {
    expertLayers.compactMap { layer in
      defer { layer.clearRouting() }
      return layer.lastRouting
    }
  }

  /// Fresh per-layer caches for `batch` rows, preallocated to `capacity` positions.
  public func makeCaches(batch: Int, capacity: Int) -> [KVCache] {
    (0..<config.nLayer).map { _ in
      KVCache(
        batch: batch, heads: config.nHead, capacity: capacity, headDim: config.nEmbd / config.nHead,
        dtype: transformer.wte.weight.dtype, device: transformer.wte.weight.device)
    }
  }

  public func makeState(batch: Int, capacity: Int) -> GenerationState {
    GenerationState(selfAttention: makeCaches(batch: batch, capacity: capacity))
  }

  public func logits(ids: Tensor, attentionMask: Tensor?, state: GenerationState?) -> Tensor {
    self(ids, attentionMask: attentionMask, caches: state?.selfAttention)
  }
}

func opFailure(_ message: String) -> Never {
  fatalError("Loom: \(message)")
}
