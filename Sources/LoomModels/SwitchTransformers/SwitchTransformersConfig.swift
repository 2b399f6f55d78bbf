import Foundation
import LoomCore
import LoomNN

/// Switch Transformers' config.json: Hugging Face's field names and defaults
/// (`SwitchTransformersConfig()` is google/switch-base-8: T5-base with 8 experts in every
/// fourth feed-forward, capacity 64 tokens per expert and sequence).
public struct SwitchTransformersConfig: PretrainedConfig, Equatable {
  public static let modelType = "switch_transformers"

  public var vocabSize = 32128
  public var dModel = 768
  public var dKv = 64
  public var dFf = 2048
  /// Tokens of one sequence each expert takes; the rest pass through the layer unchanged.
  public var expertCapacity = 64
  public var numLayers = 12
  public var numSparseEncoderLayers = 3
  /// nil: as many decoder blocks as num_layers.
  public var numDecoderLayers: Int? = 12
  public var numSparseDecoderLayers = 3
  public var numHeads = 12
  public var numExperts = 8
  public var routerBias = false
  /// Training only: the router's input × uniform noise in [1 − eps, 1 + eps].
  public var routerJitterNoise = 0.01
  /// Loom routes in float32 whichever of HF's three values is set ("float32" in every checkpoint).
  public var routerDtype = "float32"
  /// Read and written; transformers 5 ignores it too.
  public var routerIgnorePaddingTokens = false
  public var relativeAttentionNumBuckets = 32
  public var relativeAttentionMaxDistance = 128
  public var dropoutRate = 0.1
  public var layerNormEpsilon = 1e-6
  public var routerZLossCoef = 0.001
  public var routerAuxLossCoef = 0.001
  public var initializerFactor = 1.0
  /// The (never gated) feed-forward activation, e.g. "relu".
  public var denseActFn = "relu"
  public var isEncoderDecoder = true
  public var addRouterProbs = false
  public var useCache = true
  public var padTokenId: Int? = 0
  public var eosTokenId: TokenIdList? = 1
  /// Every end-of-text id.
  public var eosTokenIds: [Int] { eosTokenId?.ids ?? [] }
  public var bosTokenId: Int? = nil
  /// HF leaves it unset; generation and shifted labels need it (Switch uses the pad token, 0).
  public var decoderStartTokenId: Int? = nil
  /// lm_head shares `shared`, and decoder outputs are scaled by d_model^-0.5 before it.
  public var tieWordEmbeddings = true

  public static let fields: [ConfigField<SwitchTransformersConfig>] = [
    .init("vocab_size", \.vocabSize), .init("d_model", \.dModel), .init("d_kv", \.dKv),
    .init("d_ff", \.dFf), .init("expert_capacity", \.expertCapacity),
    .init("num_layers", \.numLayers), .init("num_sparse_encoder_layers", \.numSparseEncoderLayers),
    .init("num_decoder_layers", \.numDecoderLayers),
    .init("num_sparse_decoder_layers", \.numSparseDecoderLayers), .init("num_heads", \.numHeads),
    .init("num_experts", \.numExperts), .init("router_bias", \.routerBias),
    .init("router_jitter_noise", \.routerJitterNoise), .init("router_dtype", \.routerDtype),
    .init("router_ignore_padding_tokens", \.routerIgnorePaddingTokens),
    .init("relative_attention_num_buckets", \.relativeAttentionNumBuckets),
    .init("relative_attention_max_distance", \.relativeAttentionMaxDistance),
    .init("dropout_rate", \.dropoutRate), .init("layer_norm_epsilon", \.layerNormEpsilon),
    .init("router_z_loss_coef", \.routerZLossCoef),
    .init("router_aux_loss_coef", \.routerAuxLossCoef),
    .init("initializer_factor", \.initializerFactor), .init("dense_act_fn", \.denseActFn),
    .init("is_encoder_decoder", \.isEncoderDecoder), .init("add_router_probs", \.addRouterProbs),
    .init("use_cache", \.useCache), .init("pad_token_id", \.padTokenId),
    .init("eos_token_id", \.eosTokenId), .init("bos_token_id", \.bosTokenId),
    .init("decoder_start_token_id", \.decoderStartTokenId),
    .init("tie_word_embeddings", \.tieWordEmbeddings),
  ]

  public static let floatOnlyKeys = [
    "layer_norm_epsilon", "initializer_factor", "router_z_loss_coef", "router_aux_loss_coef",
    "dropout_rate",
  ]

  public init() {}

  /// The fields, then `encoder_sparse_step` / `decoder_sparse_step` when config.json gives them:
  /// transformers 5 keeps a given step over the one `__post_init__` derives from the sparse-layer
  /// counts (so `SwitchTransformersConfig(num_layers=2, encoder_sparse_step=2)` has a sparse block 1).
  public init(from decoder: Decoder) throws {
    self = try Self.decodeFields(from: decoder)
    let c = try decoder.container(keyedBy: JSONKey.self)
    givenEncoderSparseStep = try c.decodeIfPresent(Int.self, forKey: JSONKey("encoder_sparse_step"))
    givenDecoderSparseStep = try c.decodeIfPresent(Int.self, forKey: JSONKey("decoder_sparse_step"))
  }

  /// The fields, then the sparse steps the model uses.
  public func encode(to encoder: Encoder) throws {
    try encodeFields(to: encoder)
    var c = encoder.container(keyedBy: JSONKey.self)
    try c.encode(encoderSparseStep, forKey: JSONKey("encoder_sparse_step"))
    try c.encode(decoderSparseStep, forKey: JSONKey("decoder_sparse_step"))
  }

  public var decoderLayers: Int { numDecoderLayers ?? numLayers }

  /// config.json's own `encoder_sparse_step` / `decoder_sparse_step`, which win over the derived ones.
  public var givenEncoderSparseStep: Int?
  public var givenDecoderSparseStep: Int?

  /// The given step, else HF's `__post_init__`: layers ÷ sparse layers, or the layer count when
  /// none are asked for.
  public var encoderSparseStep: Int {
    givenEncoderSparseStep ?? (numSparseEncoderLayers > 0 ? numLayers / numSparseEncoderLayers : numLayers)
  }
  public var decoderSparseStep: Int {
    givenDecoderSparseStep ?? (numSparseDecoderLayers > 0 ? decoderLayers / numSparseDecoderLayers : decoderLayers)
  }

  /// `SwitchTransformersStack`'s rule: block i is sparse when i % step == 1 or step == 1
  /// (step 0: none). As in transformers, num_sparse_*_layers 0 still makes block 1 sparse
  /// when there are two blocks or more (step = the layer count).
  public static func isSparse(block i: Int, step: Int) -> Bool {
    step > 0 ? (i % step == 1 || step == 1) : false
  }

  /// The T5 the model is built on (same attention, norms and dense feed-forward).
  public var t5: T5Config {
    var c = T5Config()
    c.vocabSize = vocabSize
    c.dModel = dModel
    c.dKv = dKv
    c.dFf = dFf
    c.numLayers = numLayers
    c.numDecoderLayers = decoderLayers
    c.numHeads = numHeads
    c.relativeAttentionNumBuckets = relativeAttentionNumBuckets
    c.relativeAttentionMaxDistance = relativeAttentionMaxDistance
    c.dropoutRate = dropoutRate
    c.layerNormEpsilon = layerNormEpsilon
    c.initializerFactor = initializerFactor
    c.feedForwardProj = denseActFn
    c.isEncoderDecoder = isEncoderDecoder
    c.useCache = useCache
    c.padTokenId = padTokenId
    c.eosTokenId = eosTokenId
    c.decoderStartTokenId = decoderStartTokenId ?? padTokenId ?? 0
    c.tieWordEmbeddings = tieWordEmbeddings
    c.scaleDecoderOutputs = tieWordEmbeddings
    return c
  }

  public var parameterEstimate: Int? {
    let (c, f, e) = (dModel, dFf, numExperts)
    let sparseEnc = (0..<numLayers).filter { Self.isSparse(block: $0, step: encoderSparseStep) }
      .count
    let sparseDec = (0..<decoderLayers).filter { Self.isSparse(block: $0, step: decoderSparseStep) }
      .count
    return (t5.parameterEstimate ?? 0)
      + Self.count([[sparseEnc + sparseDec, e - 1, 2, c, f], [sparseEnc + sparseDec, c, e]])
  }

  public func validate() throws {
    guard expertCapacity >= 1 else {
      throw LoomError(
        "config: expert_capacity must be >= 1 token per expert and sequence, got \(expertCapacity) (no token could reach an expert)"
      )
    }
    try Self.checkSizes([
      ("num_experts", numExperts, 1 << 12), ("expert_capacity", expertCapacity, 1 << 30),
    ])
    for (name, n) in [
      ("num_sparse_encoder_layers", numSparseEncoderLayers),
      ("num_sparse_decoder_layers", numSparseDecoderLayers),
    ] where n < 0 {
      throw LoomError("config: \(name) must be >= 0, got \(n)")
    }
    guard Activation(rawValue: denseActFn) != nil else {
      throw LoomError(
        "config: dense_act_fn '\(denseActFn)' is not an activation Loom knows (Switch's feed-forward is never gated; e.g. 'relu', 'gelu_new')"
      )
    }
    guard ["float32", "float16", "bfloat16"].contains(routerDtype) else {
      throw LoomError(
        "config: router_dtype must be 'float32', 'float16' or 'bfloat16', got '\(routerDtype)'")
    }
    for (name, c) in [
      ("router_z_loss_coef", routerZLossCoef), ("router_aux_loss_coef", routerAuxLossCoef),
    ]
    where !(c >= 0 && c.isFinite) {
      throw LoomError("config: \(name) must be a non-negative number, got \(c)")
    }
    try MixtureOfExperts.check(
      numExperts: numExperts, topK: 1, capacity: .tokens(expertCapacity),
      jitterNoise: routerJitterNoise)
    // T5's sizes first: a token-id range over a vocab_size ≤ 0 would trap (0..<-5 is no Range).
    try t5.validate()
    if let start = decoderStartTokenId, !(0..<vocabSize).contains(start) {
      throw LoomError(
        "config: decoder_start_token_id \(start) is outside the vocabulary (vocab_size \(vocabSize))"
      )
    }
    if let bos = bosTokenId, !(0..<vocabSize).contains(bos) {
      throw LoomError(
        "config: bos_token_id \(bos) is outside the vocabulary (vocab_size \(vocabSize))")
    }
    try Self.checkParameterCount(
      [[parameterEstimate ?? 0]],
      fields: "num_experts with T5's sizes (d_model, d_ff, num_(decoder_)layers…)")
  }
}
