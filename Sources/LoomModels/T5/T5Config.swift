import Foundation
import LoomCore
import LoomNN

/// T5's config.json: Hugging Face's field names and defaults (`T5Config()` is
/// google-t5/t5-small: d_model 512, d_kv 64, 8 heads, 6 + 6 blocks, vocab 32128).
public struct T5Config: PretrainedConfig, Equatable {
  public static let modelType = "t5"

  public var vocabSize = 32128
  public var dModel = 512
  /// Per-head key/value width; num_heads × d_kv need not equal d_model.
  public var dKv = 64
  public var dFf = 2048
  public var numLayers = 6
  /// nil: as many decoder blocks as num_layers.
  public var numDecoderLayers: Int? = nil
  public var numHeads = 8
  public var relativeAttentionNumBuckets = 32
  public var relativeAttentionMaxDistance = 128
  public var dropoutRate = 0.1
  public var layerNormEpsilon = 1e-6
  public var initializerFactor = 1.0
  /// "relu" (T5), "gated-gelu" (T5 v1.1, flan-t5: gelu_new), or "gated-X" / "X" for any activation X.
  public var feedForwardProj = "relu"
  public var isEncoderDecoder = true
  public var useCache = true
  public var padTokenId: Int? = 0
  public var eosTokenId: TokenIdList? = 1
  /// Every end-of-text id.
  public var eosTokenIds: [Int] { eosTokenId?.ids ?? [] }
  /// T5 starts the decoder with the pad token.
  public var decoderStartTokenId: Int? = 0
  /// lm_head shares `shared`; false gives lm_head its own weight (t5-v1_1, flan-t5).
  public var tieWordEmbeddings = true
  /// Decoder outputs × d_model^-0.5 before lm_head; nil: when tie_word_embeddings (HF 4's rule;
  /// transformers 5 writes this field).
  public var scaleDecoderOutputs: Bool? = nil
  public var classifierDropout = 0.0

  public static let fields: [ConfigField<T5Config>] = [
    .init("vocab_size", \.vocabSize), .init("d_model", \.dModel), .init("d_kv", \.dKv),
    .init("d_ff", \.dFf), .init("num_layers", \.numLayers),
    .init("num_decoder_layers", \.numDecoderLayers), .init("num_heads", \.numHeads),
    .init("relative_attention_num_buckets", \.relativeAttentionNumBuckets),
    .init("relative_attention_max_distance", \.relativeAttentionMaxDistance),
    .init("dropout_rate", \.dropoutRate), .init("layer_norm_epsilon", \.layerNormEpsilon),
    .init("initializer_factor", \.initializerFactor),
    .init("feed_forward_proj", \.feedForwardProj),
    .init("is_encoder_decoder", \.isEncoderDecoder), .init("use_cache", \.useCache),
    .init("pad_token_id", \.padTokenId), .init("eos_token_id", \.eosTokenId),
    .init("decoder_start_token_id", \.decoderStartTokenId),
    .init("tie_word_embeddings", \.tieWordEmbeddings),
    .init("scale_decoder_outputs", \.scaleDecoderOutputs),
    .init("classifier_dropout", \.classifierDropout),
  ]

  public static let floatOnlyKeys = ["layer_norm_epsilon", "initializer_factor"]

  public init() {}

  public init(from decoder: Decoder) throws { self = try Self.decodeFields(from: decoder) }

  /// The fields (scale_decoder_outputs as the bool in effect: transformers 5 reads a null as
  /// false), then HF's derived `dense_act_fn` and `is_gated_act` (recomputed from
  /// feed_forward_proj when read, as transformers does).
  public func encode(to encoder: Encoder) throws {
    var resolved = self
    resolved.scaleDecoderOutputs = scalesDecoderOutputs
    try resolved.encodeFields(to: encoder)
    var c = encoder.container(keyedBy: JSONKey.self)
    try c.encode(denseActFn, forKey: JSONKey("dense_act_fn"))
    try c.encode(isGatedAct, forKey: JSONKey("is_gated_act"))
  }

  public var decoderLayers: Int { numDecoderLayers ?? numLayers }
  /// num_heads × d_kv: the width of q, k, v and o's input.
  public var innerDim: Int { numHeads * dKv }
  /// HF's parsing of feed_forward_proj: "gated-X" → gated, activation X.
  public var isGatedAct: Bool { feedForwardProj.split(separator: "-").first == "gated" }
  public var denseActFn: String {
    feedForwardProj == "gated-gelu"
      ? "gelu_new"
      : String(feedForwardProj.split(separator: "-", omittingEmptySubsequences: false).last ?? "")
  }
  public var scalesDecoderOutputs: Bool { scaleDecoderOutputs ?? tieWordEmbeddings }

  /// The feed-forward activation (checked by `validate`).
  public func activation() throws -> Activation {
    let parts = feedForwardProj.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count <= 2, parts.count == 1 || parts[0] == "gated" else {
      throw LoomError(
        "config: feed_forward_proj '\(feedForwardProj)' is not a valid activation of the dense layer; use 'gated-{ACT_FN}' or '{ACT_FN}', e.g. 'gated-gelu' or 'relu'"
      )
    }
    do { return try Activation(name: denseActFn) } catch {
      throw LoomError("config: feed_forward_proj '\(feedForwardProj)': \(error)")
    }
  }

  public var parameterEstimate: Int? {
    let (c, v, i, f) = (dModel, vocabSize, innerDim, dFf)
    let ff = isGatedAct ? 3 : 2
    return Self.count([
      [tieWordEmbeddings ? 1 : 2, v, c], [2, relativeAttentionNumBuckets, numHeads],
      [numLayers, 4, c, i], [numLayers, ff, c, f], [numLayers, 2, c],
      [decoderLayers, 8, c, i], [decoderLayers, ff, c, f], [decoderLayers, 3, c], [2, c],
    ])
  }

  public func validate() throws {
    try Self.checkSizes([
      ("vocab_size", vocabSize, 1 << 22), ("d_model", dModel, 1 << 16), ("d_kv", dKv, 1 << 14),
      ("d_ff", dFf, 1 << 18), ("num_layers", numLayers, 1 << 10),
      ("num_decoder_layers", decoderLayers, 1 << 10), ("num_heads", numHeads, 1 << 10),
      ("relative_attention_num_buckets", relativeAttentionNumBuckets, 1 << 12),
      ("relative_attention_max_distance", relativeAttentionMaxDistance, 1 << 24),
    ])
    // The encoder's buckets are half for each direction, a quarter of them exact offsets.
    guard relativeAttentionNumBuckets >= 4 else {
      throw LoomError(
        "config: relative_attention_num_buckets must be at least 4 (the encoder splits them by direction, then into exact and logarithmic halves), got \(relativeAttentionNumBuckets)"
      )
    }
    guard relativeAttentionMaxDistance > relativeAttentionNumBuckets / 2 else {
      throw LoomError(
        "config: relative_attention_max_distance (\(relativeAttentionMaxDistance)) must exceed half of relative_attention_num_buckets (\(relativeAttentionNumBuckets)), where the logarithmic buckets start"
      )
    }
    _ = try activation()
    for (name, p) in [("dropout_rate", dropoutRate), ("classifier_dropout", classifierDropout)]
    where !(0..<1).contains(p) {
      throw LoomError("config: \(name) must be in [0, 1), got \(p)")
    }
    guard layerNormEpsilon >= 0, layerNormEpsilon.isFinite else {
      throw LoomError("config: layer_norm_epsilon must be a non-negative number, got \(layerNormEpsilon)")
    }
    let ids: [(String, Int?)] =
      [("pad_token_id", padTokenId), ("decoder_start_token_id", decoderStartTokenId)]
      + (eosTokenId?.ids ?? []).map { ("eos_token_id", $0) }
    for (name, id) in ids {
      if let id, !(0..<vocabSize).contains(id) {
        throw LoomError("config: \(name) \(id) is outside the vocabulary (vocab_size \(vocabSize))")
      }
    }
    guard decoderStartTokenId != nil else {
      throw LoomError(
        "config: decoder_start_token_id is null; T5's decoder needs a start token (HF's T5 uses the pad token, 0)"
      )
    }
    try Self.checkParameterCount(
      [[parameterEstimate ?? 0]], fields: "vocab_size, d_model, d_kv, d_ff, num_heads and num_(decoder_)layers")
  }
}
