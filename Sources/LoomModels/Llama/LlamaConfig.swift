import Foundation
import LoomCore
import LoomNN

/// Llama's config.json: Hugging Face's field names and defaults (`LlamaConfig()` is
/// transformers' `LlamaConfig()`, i.e. Llama-7B). `num_key_value_heads` and `head_dim`
/// default to `num_attention_heads` and hidden_size / heads, and are written resolved.
public struct LlamaConfig: PretrainedConfig, Equatable {
  public static let modelType = "llama"
  public static let floatOnlyKeys = [
    "rms_norm_eps", "initializer_range", "attention_dropout", "rope_theta",
  ]

  /// The rotary settings (`rope_parameters` in transformers 5; older files write
  /// `rope_theta` and `rope_scaling` at the top level).
  public struct RopeParameters: Codable, Sendable, Equatable {
    public var ropeType = "default"
    public var ropeTheta = 10000.0
    public init(ropeType: String = "default", ropeTheta: Double = 10000) {
      (self.ropeType, self.ropeTheta) = (ropeType, ropeTheta)
    }
    enum CodingKeys: String, CodingKey {
      case ropeType = "rope_type"
      case ropeTheta = "rope_theta"
    }
  }

  /// The rope types Loom computes.
  public static let supportedRopeTypes = ["default"]

  public var vocabSize = 32000
  public var hiddenSize = 4096
  public var intermediateSize = 11008
  public var numHiddenLayers = 32
  public var numAttentionHeads = 32
  /// Grouped-query attention: K/V heads shared by heads / kv-heads query heads each; nil = heads.
  public var numKeyValueHeads: Int? = nil
  /// Per-head width; nil = hidden_size / num_attention_heads.
  public var headDim: Int? = nil
  public var hiddenAct = Activation.silu
  public var maxPositionEmbeddings = 2048
  public var initializerRange = 0.02
  public var rmsNormEps = 1e-6
  public var useCache = true
  public var padTokenId: Int? = nil
  public var bosTokenId: Int? = 1
  /// `eos_token_id`: one id or a list.
  public var eosTokenId: TokenIdList? = 2
  public var pretrainingTp = 1
  public var tieWordEmbeddings = false
  public var ropeParameters = RopeParameters()
  public var attentionBias = false
  public var attentionDropout = 0.0
  public var mlpBias = false
  /// Token classification's dropout (HF's `classifier_dropout`, else 0.1); written only when set.
  public var classifierDropout: Double? = nil
  public var labels = EncoderLabels()

  public static let fields: [ConfigField<LlamaConfig>] =
    [
      .init("vocab_size", \.vocabSize), .init("hidden_size", \.hiddenSize),
      .init("intermediate_size", \.intermediateSize), .init("num_hidden_layers", \.numHiddenLayers),
      .init("num_attention_heads", \.numAttentionHeads), .init("hidden_act", \.hiddenAct),
      .init("max_position_embeddings", \.maxPositionEmbeddings),
      .init("initializer_range", \.initializerRange),
      .init("rms_norm_eps", \.rmsNormEps), .init("use_cache", \.useCache),
      .init("pad_token_id", \.padTokenId),
      .init("bos_token_id", \.bosTokenId),
      .init("eos_token_id", \.eosTokenId),
      .init("pretraining_tp", \.pretrainingTp), .init("tie_word_embeddings", \.tieWordEmbeddings),
      .init("attention_bias", \.attentionBias), .init("attention_dropout", \.attentionDropout),
      .init("mlp_bias", \.mlpBias),
    ] + EncoderLabels.fields(\.labels)

  public init() {}

  /// HF's defaults with the sizes given (like `LlamaConfig(hidden_size=…)`).
  public init(
    vocabSize: Int = 32000, hiddenSize: Int = 4096, intermediateSize: Int = 11008,
    numHiddenLayers: Int = 32,
    numAttentionHeads: Int = 32, numKeyValueHeads: Int? = nil, maxPositionEmbeddings: Int = 2048,
    ropeTheta: Double = 10000, tieWordEmbeddings: Bool = false
  ) {
    self.vocabSize = vocabSize
    self.hiddenSize = hiddenSize
    self.intermediateSize = intermediateSize
    self.numHiddenLayers = numHiddenLayers
    self.numAttentionHeads = numAttentionHeads
    self.numKeyValueHeads = numKeyValueHeads
    self.maxPositionEmbeddings = maxPositionEmbeddings
    ropeParameters.ropeTheta = ropeTheta
    self.tieWordEmbeddings = tieWordEmbeddings
  }

  public init(from decoder: Decoder) throws {
    self = try Self.decodeFields(from: decoder)
    try labels.applyNumLabels(from: decoder)
    let c = try decoder.container(keyedBy: JSONKey.self)
    numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: JSONKey("num_key_value_heads"))
    headDim = try c.decodeIfPresent(Int.self, forKey: JSONKey("head_dim"))
    classifierDropout = try c.decodeIfPresent(Double.self, forKey: JSONKey("classifier_dropout"))
    // transformers 5 writes rope_parameters; older files rope_theta and rope_scaling.
    if let theta = try c.decodeIfPresent(Double.self, forKey: JSONKey("rope_theta")) {
      ropeParameters.ropeTheta = theta
    }
    for key in ["rope_scaling", "rope_parameters"] {
      guard let rope = try c.decodeIfPresent(RopeFields.self, forKey: JSONKey(key)) else {
        continue
      }
      if let theta = rope.rope_theta { ropeParameters.ropeTheta = theta }
      if let type = rope.rope_type ?? rope.type { ropeParameters.ropeType = type }
    }
  }

  /// The rope keys Loom reads (others, such as a scaling factor, belong to types it rejects).
  struct RopeFields: Decodable {
    var rope_type: String?
    var type: String?
    var rope_theta: Double?
  }

  public func encode(to encoder: Encoder) throws {
    try encodeFields(to: encoder)
    var c = encoder.container(keyedBy: JSONKey.self)
    try c.encode(keyValueHeads, forKey: JSONKey("num_key_value_heads"))
    try c.encode(headDimension, forKey: JSONKey("head_dim"))
    try c.encode(ropeParameters, forKey: JSONKey("rope_parameters"))
    if let classifierDropout {
      try c.encode(classifierDropout, forKey: JSONKey("classifier_dropout"))
    }
  }

  public var keyValueHeads: Int { numKeyValueHeads ?? numAttentionHeads }
  public var headDimension: Int { headDim ?? hiddenSize / Swift.max(numAttentionHeads, 1) }
  public var ropeTheta: Double { ropeParameters.ropeTheta }
  /// Every end-of-text id (`eos_token_id`, one or a list).
  public var eosTokenIds: [Int] { eosTokenId?.ids ?? [] }

  public var numLabels: Int {
    get { labels.numLabels }
    set { labels.numLabels = newValue }
  }

  var parameterTerms: [[Int]] {
    let (c, d) = (hiddenSize, headDimension)
    return [
      [vocabSize, c], tieWordEmbeddings ? [] : [vocabSize, c],
      [numHiddenLayers, 2, numAttentionHeads, d, c], [numHiddenLayers, 2, keyValueHeads, d, c],
      [numHiddenLayers, 3, intermediateSize, c],
    ]
  }
  public var parameterEstimate: Int? { Self.count(parameterTerms) }

  /// Checks sizes before anything is allocated, naming the field at fault.
  public func validate() throws {
    try Self.checkSizes([
      ("vocab_size", vocabSize, 1 << 22), ("hidden_size", hiddenSize, 1 << 16),
      ("intermediate_size", intermediateSize, 1 << 18),
      ("num_hidden_layers", numHiddenLayers, 1 << 10),
      ("num_attention_heads", numAttentionHeads, 1 << 10),
      ("num_key_value_heads", keyValueHeads, 1 << 10),
      ("head_dim", headDimension, 1 << 12),
      ("max_position_embeddings", maxPositionEmbeddings, 1 << 24),
    ])
    guard hiddenSize % numAttentionHeads == 0 else {
      throw LoomError(
        "config: hidden_size (\(hiddenSize)) is not a multiple of num_attention_heads (\(numAttentionHeads))"
      )
    }
    guard numAttentionHeads % keyValueHeads == 0 else {
      throw LoomError(
        "config: num_attention_heads (\(numAttentionHeads)) must be a multiple of num_key_value_heads (\(keyValueHeads)); each K/V head serves a group of query heads"
      )
    }
    guard headDimension % 2 == 0 else {
      throw LoomError("config: head_dim (\(headDimension)) must be even for rotary embeddings")
    }
    guard Self.supportedRopeTypes.contains(ropeParameters.ropeType) else {
      throw LoomError(
        "config: rope_parameters.rope_type '\(ropeParameters.ropeType)' is not supported by Loom (supported: \(Self.supportedRopeTypes.joined(separator: ", "))); use a model saved with rope_type \"default\""
      )
    }
    guard ropeTheta > 0, ropeTheta.isFinite else {
      throw LoomError("config: rope_theta must be a positive number, got \(ropeTheta)")
    }
    guard rmsNormEps > 0 else {
      throw LoomError("config: rms_norm_eps must be positive, got \(rmsNormEps)")
    }
    for (name, p) in [
      ("attention_dropout", attentionDropout), ("classifier_dropout", classifierDropout ?? 0),
    ]
    where !(0..<1).contains(p) {
      throw LoomError("config: \(name) must be in [0, 1), got \(p)")
    }
    for (name, id) in [
      ("pad_token_id", padTokenId), ("bos_token_id", bosTokenId),
    ]
      + eosTokenIds.map({ ("eos_token_id", $0) })
    {
      if let id, !(0..<vocabSize).contains(id) {
        throw LoomError("config: \(name) \(id) is outside the vocabulary (vocab_size \(vocabSize))")
      }
    }
    try labels.validate()
    try Self.checkParameterCount(
      parameterTerms,
      fields:
        "vocab_size \(vocabSize), hidden_size \(hiddenSize), intermediate_size \(intermediateSize), num_hidden_layers \(numHiddenLayers)"
    )
  }
}
