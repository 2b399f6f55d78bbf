import Foundation
import LoomCore
import LoomNN

/// BLOOM's config.json: Hugging Face's field names and defaults (`BloomConfig()` is HF's
/// `BloomConfig()`). Older files spell hidden_size `n_embed` and the layer and head counts
/// `num_hidden_layers` / `num_attention_heads` (HF's attribute_map); all are read.
public struct BloomConfig: PretrainedConfig, Equatable {
  public static let modelType = "bloom"
  public static let floatOnlyKeys = [
    "layer_norm_epsilon", "initializer_range", "hidden_dropout", "attention_dropout",
  ]

  public var vocabSize = 250880
  public var hiddenSize = 64
  public var nLayer = 2
  public var nHead = 8
  public var layerNormEpsilon = 1e-5
  public var initializerRange = 0.02
  public var useCache = true
  public var bosTokenId: Int? = 1
  /// `eos_token_id`: one id or a list.
  public var eosTokenId: TokenIdList? = 2
  public var padTokenId: Int? = nil
  /// The residual is the layer norm's output instead of its input (BLOOM-176B's training setup).
  public var applyResidualConnectionPostLayernorm = false
  public var hiddenDropout = 0.0
  public var attentionDropout = 0.0
  /// Megatron's tensor-parallel degree; HF's slicing with `slow_but_exact` sums the same
  /// products in slices, so every value computes the same function here (one GEMM).
  public var pretrainingTp = 1
  public var slowButExact = false
  public var tieWordEmbeddings = true
  /// Dropout of the token-classification head; nil means hidden_dropout.
  public var classifierDropout: Double? = nil
  public var labels = EncoderLabels()

  public static let fields: [ConfigField<BloomConfig>] =
    [
      .init("vocab_size", \.vocabSize), .init("hidden_size", \.hiddenSize),
      .init("n_layer", \.nLayer),
      .init("n_head", \.nHead), .init("layer_norm_epsilon", \.layerNormEpsilon),
      .init("initializer_range", \.initializerRange), .init("use_cache", \.useCache),
      .init("bos_token_id", \.bosTokenId),
      .init("eos_token_id", \.eosTokenId),
      .init("pad_token_id", \.padTokenId),
      .init("apply_residual_connection_post_layernorm", \.applyResidualConnectionPostLayernorm),
      .init("hidden_dropout", \.hiddenDropout), .init("attention_dropout", \.attentionDropout),
      .init("pretraining_tp", \.pretrainingTp), .init("slow_but_exact", \.slowButExact),
      .init("tie_word_embeddings", \.tieWordEmbeddings),
      .init("classifier_dropout", \.classifierDropout),
    ] + EncoderLabels.fields(\.labels)

  public init() {}

  /// HF's defaults with the sizes given (like `BloomConfig(hidden_size=…)`).
  public init(
    vocabSize: Int = 250880, hiddenSize: Int = 64, nLayer: Int = 2, nHead: Int = 8,
    padTokenId: Int? = nil,
    numLabels: Int = 2
  ) {
    self.vocabSize = vocabSize
    self.hiddenSize = hiddenSize
    self.nLayer = nLayer
    self.nHead = nHead
    self.padTokenId = padTokenId
    labels.numLabels = numLabels
  }

  public init(from decoder: Decoder) throws {
    var config = try Self.decodeFields(from: decoder)
    let c = try decoder.container(keyedBy: JSONKey.self)
    // HF: n_embed, when given, is hidden_size; the attribute_map's long names are aliases.
    if let v = try c.decodeIfPresent(Int.self, forKey: JSONKey("n_embed")) { config.hiddenSize = v }
    if !c.contains(JSONKey("n_layer")),
      let v = try c.decodeIfPresent(Int.self, forKey: JSONKey("num_hidden_layers"))
    {
      config.nLayer = v
    }
    if !c.contains(JSONKey("n_head")),
      let v = try c.decodeIfPresent(Int.self, forKey: JSONKey("num_attention_heads"))
    {
      config.nHead = v
    }
    try config.labels.applyNumLabels(from: decoder)
    self = config
  }
  public func encode(to encoder: Encoder) throws { try encodeFields(to: encoder) }

  public var numLabels: Int {
    get { labels.numLabels }
    set { labels.numLabels = newValue }
  }
  public var headDim: Int { hiddenSize / nHead }
  /// Every end-of-text id (`eos_token_id`, one or a list).
  public var eosTokenIds: [Int] { eosTokenId?.ids ?? [] }

  /// Checks the sizes a model needs (before anything is allocated), naming the field at fault.
  public func validate() throws {
    try Self.checkSizes([
      ("vocab_size", vocabSize, 1 << 22), ("hidden_size", hiddenSize, 1 << 16),
      ("n_layer", nLayer, 1 << 10),
      ("n_head", nHead, 1 << 10), ("pretraining_tp", pretrainingTp, 1 << 10),
    ])
    guard hiddenSize % nHead == 0 else {
      throw LoomError("config: hidden_size (\(hiddenSize)) must be divisible by n_head (\(nHead))")
    }
    if pretrainingTp > 1, slowButExact, hiddenSize % pretrainingTp != 0 {
      throw LoomError(
        "config: hidden_size (\(hiddenSize)) must be divisible by pretraining_tp (\(pretrainingTp)) when slow_but_exact is true"
      )
    }
    for (name, p) in [
      ("hidden_dropout", hiddenDropout), ("attention_dropout", attentionDropout),
      ("classifier_dropout", classifierDropout ?? 0),
    ]
    where !(0..<1).contains(p) {
      throw LoomError("config: \(name) must be in [0, 1), got \(p)")
    }
    guard layerNormEpsilon > 0 else {
      throw LoomError("config: layer_norm_epsilon must be positive, got \(layerNormEpsilon)")
    }
    for (name, id) in [("bos_token_id", bosTokenId), ("pad_token_id", padTokenId)] {
      if let id, id < 0 { throw LoomError("config: \(name) must be >= 0, got \(id)") }
    }
    try labels.validate()
    try Self.checkParameterCount(
      parameterTerms,
      fields: "vocab_size \(vocabSize), hidden_size \(hiddenSize), n_layer \(nLayer)")
  }

  /// The weights' sizes as products of fields (biases and norms are lower order).
  var parameterTerms: [[Int]] {
    [
      [vocabSize, hiddenSize], [nLayer, 12, hiddenSize, hiddenSize],
      tieWordEmbeddings ? [] : [vocabSize, hiddenSize],
    ]
  }
  public var parameterEstimate: Int? { Self.count(parameterTerms) }
}
