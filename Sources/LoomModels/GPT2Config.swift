import Foundation
import LoomCore
import LoomNN

/// GPT-2's config.json: Hugging Face's field names and defaults (`GPT2Config()` is
/// HF's `GPT2Config()`, i.e. GPT-2 small).
public struct GPT2Config: PretrainedConfig, Equatable {
  public static let modelType = "gpt2"
  public static let floatOnlyKeys = ["layer_norm_epsilon", "initializer_range"]

  public var vocabSize = 50257
  public var nPositions = 1024
  public var nEmbd = 768
  public var nLayer = 12
  public var nHead = 12
  /// Width of the MLP; nil means 4·n_embd.
  public var nInner: Int? = nil
  public var activationFunction = Activation.geluNew
  public var residPdrop = 0.1
  public var embdPdrop = 0.1
  public var attnPdrop = 0.1
  public var layerNormEpsilon = 1e-5
  public var initializerRange = 0.02
  public var scaleAttnWeights = true
  public var scaleAttnByInverseLayerIdx = false
  /// False gives the LM head its own `lm_head.weight`.
  public var tieWordEmbeddings = true
  public var bosTokenId: Int? = 50256
  /// `eos_token_id`: one id or a list.
  public var eosTokenId: TokenIdList? = 50256
  /// Every end-of-text id.
  public var eosTokenIds: [Int] { eosTokenId?.ids ?? [] }
  public var padTokenId: Int? = nil
  /// Mixture of experts (`loom train gpt --moe-experts`): every block's MLP becomes
  /// `num_experts` copies of it behind a router (LoomNN's `MixtureOfExperts`); 0 = dense GPT-2.
  public var numExperts = 0
  /// Experts per token (Mixtral's name); 1 is Switch routing.
  public var numExpertsPerTok = 1
  /// Capacity per expert as a factor of tokens · k / experts per sequence; nil = unlimited.
  public var expertCapacityFactor: Double? = nil
  /// Switch Transformers' defaults for the router losses and jitter.
  public var routerAuxLossCoef = 0.001
  public var routerZLossCoef = 0.001
  public var routerJitterNoise = 0.0
  /// GPT2ForSequenceClassification's labels; written only when they are not the default two.
  public var labels = EncoderLabels()
  public var numLabels: Int {
    get { labels.numLabels }
    set { labels.numLabels = newValue }
  }
  static let labelKeys: Set<String> = ["id2label", "label2id", "problem_type"]

  /// The MoE keys, written only when num_experts > 0 (dense configs stay GPT-2's).
  static let moeKeys: Set<String> = [
    "num_experts", "num_experts_per_tok", "expert_capacity_factor", "router_aux_loss_coef", "router_z_loss_coef",
    "router_jitter_noise",
  ]

  public static let fields: [ConfigField<GPT2Config>] = [
    .init("vocab_size", \.vocabSize), .init("n_positions", \.nPositions), .init("n_embd", \.nEmbd),
    .init("n_layer", \.nLayer), .init("n_head", \.nHead), .init("n_inner", \.nInner),
    .init("activation_function", \.activationFunction), .init("resid_pdrop", \.residPdrop),
    .init("embd_pdrop", \.embdPdrop), .init("attn_pdrop", \.attnPdrop),
    .init("layer_norm_epsilon", \.layerNormEpsilon), .init("initializer_range", \.initializerRange),
    .init("scale_attn_weights", \.scaleAttnWeights),
    .init("scale_attn_by_inverse_layer_idx", \.scaleAttnByInverseLayerIdx),
    .init("tie_word_embeddings", \.tieWordEmbeddings), .init("bos_token_id", \.bosTokenId),
    .init("eos_token_id", \.eosTokenId), .init("pad_token_id", \.padTokenId),
    .init("num_experts", \.numExperts), .init("num_experts_per_tok", \.numExpertsPerTok),
    .init("expert_capacity_factor", \.expertCapacityFactor), .init("router_aux_loss_coef", \.routerAuxLossCoef),
    .init("router_z_loss_coef", \.routerZLossCoef), .init("router_jitter_noise", \.routerJitterNoise),
  ] + EncoderLabels.fields(\.labels)

  public init() {}

  /// HF's defaults, with any field given (like `GPT2Config(n_layer=…)`).
  public init(
    vocabSize: Int = 50257, nPositions: Int = 1024, nEmbd: Int = 768, nLayer: Int = 12, nHead: Int = 12,
    nInner: Int? = nil, activationFunction: Activation = .geluNew, residPdrop: Double = 0.1, embdPdrop: Double = 0.1,
    attnPdrop: Double = 0.1, layerNormEpsilon: Double = 1e-5, initializerRange: Double = 0.02,
    tieWordEmbeddings: Bool = true, bosTokenId: Int? = 50256, eosTokenId: TokenIdList? = 50256,
    padTokenId: Int? = nil
  ) {
    self.vocabSize = vocabSize
    self.nPositions = nPositions
    self.nEmbd = nEmbd
    self.nLayer = nLayer
    self.nHead = nHead
    self.nInner = nInner
    self.activationFunction = activationFunction
    self.residPdrop = residPdrop
    self.embdPdrop = embdPdrop
    self.attnPdrop = attnPdrop
    self.layerNormEpsilon = layerNormEpsilon
    self.initializerRange = initializerRange
    self.tieWordEmbeddings = tieWordEmbeddings
    self.bosTokenId = bosTokenId
    self.eosTokenId = eosTokenId
    self.padTokenId = padTokenId
  }

  public init(from decoder: Decoder) throws {
    self = try Self.decodeFields(from: decoder)
    try labels.applyNumLabels(from: decoder)
  }
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: JSONKey.self)
    try c.encode(Self.modelType, forKey: JSONKey("model_type"))
    let defaultLabels = labels == EncoderLabels()
    for f in Self.fields
    where (numExperts > 0 || !Self.moeKeys.contains(f.key)) && !(defaultLabels && Self.labelKeys.contains(f.key)) {
      try f.encode(self, &c)
    }
  }

  /// The experts' capacity rule (`expert_capacity_factor`).
  public var expertCapacity: ExpertCapacity { expertCapacityFactor.map { .factor($0) } ?? .unlimited }

  /// Checks the sizes a model needs (before anything is allocated), naming the field at fault.
  public func validate() throws {
    try Self.checkSizes([
      ("vocab_size", vocabSize, 1 << 22), ("n_positions", nPositions, 1 << 20), ("n_embd", nEmbd, 1 << 16),
      ("n_layer", nLayer, 1 << 10), ("n_head", nHead, 1 << 10), ("n_inner", nInner ?? 1, 1 << 18),
    ])
    try labels.validate()
    guard nEmbd % nHead == 0 else {
      throw LoomError("config: n_embd (\(nEmbd)) must be divisible by n_head (\(nHead))")
    }
    if numExperts != 0 {
      guard numExperts > 0 && numExperts <= 1 << 10 else {
        throw LoomError("config: num_experts must be in 0...1024 (0 = dense), got \(numExperts)")
      }
      do {
        try MixtureOfExperts.check(
          numExperts: numExperts, topK: numExpertsPerTok, capacity: expertCapacity, jitterNoise: routerJitterNoise)
      } catch let e as LoomError {
        throw LoomError("config: " + e.message.replacingOccurrences(of: "top-k", with: "num_experts_per_tok")
          .replacingOccurrences(of: "the capacity factor", with: "expert_capacity_factor"))
      }
      for (name, v) in [("router_aux_loss_coef", routerAuxLossCoef), ("router_z_loss_coef", routerZLossCoef)]
      where !(v >= 0 && v.isFinite) {
        throw LoomError("config: \(name) must be a finite number >= 0, got \(v)")
      }
    }
    let inner = nInner ?? 4 * nEmbd
    try Self.checkParameterCount(
      parameterTerms,
      fields: "vocab_size \(vocabSize), n_positions \(nPositions), n_embd \(nEmbd), n_layer \(nLayer), n_inner \(inner)")
  }

  /// The weights' sizes as products of fields (biases and norms are lower order).
  var parameterTerms: [[Int]] {
    let inner = nInner ?? 4 * nEmbd
    return [[vocabSize, nEmbd], [nPositions, nEmbd], [nLayer, 4, nEmbd, nEmbd], [nLayer, 2, nEmbd, inner, Swift.max(numExperts, 1)],
      [nLayer, nEmbd, numExperts], tieWordEmbeddings ? [] : [vocabSize, nEmbd]]
  }
  public var parameterEstimate: Int? { Self.count(parameterTerms) }

  /// The seeds' character-level scratch model (6 layers, 6 heads, 384 wide, block 256, dropout 0.2).
  public static func seed(vocabSize: Int) -> GPT2Config {
    var c = GPT2Config(vocabSize: vocabSize, nPositions: 256, nEmbd: 384, nLayer: 6, nHead: 6)
    (c.residPdrop, c.embdPdrop, c.attnPdrop) = (0.2, 0.2, 0.2)
    (c.bosTokenId, c.eosTokenId) = (nil, nil)
    return c
  }

  public static let small = GPT2Config()
  public static let medium = GPT2Config(nEmbd: 1024, nLayer: 24, nHead: 16)

  /// Presets by name (`seed`, `gpt2`/`small`, `gpt2-medium`/`medium`, `tiny`).
  public static func preset(_ name: String, vocabSize: Int) throws -> GPT2Config {
    switch name {
    case "seed", "scratch": return .seed(vocabSize: vocabSize)
    case "tiny":
      var c = GPT2Config(vocabSize: vocabSize, nPositions: 128, nEmbd: 128, nLayer: 4, nHead: 4)
      (c.bosTokenId, c.eosTokenId) = (nil, nil)
      return c
    case "gpt2", "small", "gpt2-small":
      var c = GPT2Config.small
      c.vocabSize = vocabSize
      return c
    case "gpt2-medium", "medium":
      var c = GPT2Config.medium
      c.vocabSize = vocabSize
      return c
    default: throw LoomError("unknown preset '\(name)' (use seed, tiny, gpt2 or gpt2-medium)")
    }
  }
}
