import Foundation
import LoomCore
import LoomNN

/// BART's config.json: Hugging Face's field names and defaults (`BartConfig()` is
/// facebook/bart-large: d_model 1024, 12 + 12 layers, 16 heads, vocab 50265, three labels).
public struct BartConfig: PretrainedConfig, Equatable {
  public static let modelType = "bart"

  public var vocabSize = 50265
  public var maxPositionEmbeddings = 1024
  public var encoderLayers = 12
  public var encoderFfnDim = 4096
  public var encoderAttentionHeads = 16
  public var decoderLayers = 12
  public var decoderFfnDim = 4096
  public var decoderAttentionHeads = 16
  public var encoderLayerdrop = 0.0
  public var decoderLayerdrop = 0.0
  public var activationFunction = Activation.gelu
  public var dModel = 1024
  public var dropout = 0.1
  public var attentionDropout = 0.0
  public var activationDropout = 0.0
  public var initStd = 0.02
  public var classifierDropout = 0.0
  /// Word embeddings scaled by √d_model.
  public var scaleEmbedding = false
  public var useCache = true
  public var padTokenId: Int? = 1
  public var bosTokenId: Int? = 0
  /// `eos_token_id`: one id or a list.
  public var eosTokenId: TokenIdList? = 2
  /// Every end-of-text id.
  public var eosTokenIds: [Int] { eosTokenId?.ids ?? [] }
  public var isEncoderDecoder = true
  public var decoderStartTokenId: Int? = 2
  /// Generation forces this token first (after the start token); nil: not forced.
  public var forcedBosTokenId: Int? = nil
  /// Generation forces this token last when max_length is reached.
  public var forcedEosTokenId: Int? = 2
  /// lm_head and both embed_tokens share `shared`; false gives each its own weight.
  public var tieWordEmbeddings = true
  public var labels: EncoderLabels = {
    var l = EncoderLabels()
    l.numLabels = 3
    return l
  }()

  public static let fields: [ConfigField<BartConfig>] =
    [
      .init("vocab_size", \.vocabSize), .init("max_position_embeddings", \.maxPositionEmbeddings),
      .init("encoder_layers", \.encoderLayers), .init("encoder_ffn_dim", \.encoderFfnDim),
      .init("encoder_attention_heads", \.encoderAttentionHeads),
      .init("decoder_layers", \.decoderLayers),
      .init("decoder_ffn_dim", \.decoderFfnDim),
      .init("decoder_attention_heads", \.decoderAttentionHeads),
      .init("encoder_layerdrop", \.encoderLayerdrop),
      .init("decoder_layerdrop", \.decoderLayerdrop),
      .init("activation_function", \.activationFunction), .init("d_model", \.dModel),
      .init("dropout", \.dropout),
      .init("attention_dropout", \.attentionDropout),
      .init("activation_dropout", \.activationDropout),
      .init("init_std", \.initStd), .init("classifier_dropout", \.classifierDropout),
      .init("scale_embedding", \.scaleEmbedding), .init("use_cache", \.useCache),
      .init("pad_token_id", \.padTokenId),
      .init("bos_token_id", \.bosTokenId), .init("eos_token_id", \.eosTokenId),
      .init("is_encoder_decoder", \.isEncoderDecoder),
      .init("decoder_start_token_id", \.decoderStartTokenId),
      .init("forced_bos_token_id", \.forcedBosTokenId),
      .init("forced_eos_token_id", \.forcedEosTokenId),
      .init("tie_word_embeddings", \.tieWordEmbeddings),
    ] + EncoderLabels.fields(\.labels)

  public static let floatOnlyKeys = ["encoder_layerdrop", "decoder_layerdrop", "init_std"]

  public init() {}

  public init(from decoder: Decoder) throws {
    self = try Self.decodeFields(from: decoder)
    try labels.applyNumLabels(from: decoder)
  }
  public func encode(to encoder: Encoder) throws { try encodeFields(to: encoder) }

  public var numLabels: Int {
    get { labels.numLabels }
    set { labels.numLabels = newValue }
  }

  /// The `shift_tokens_right` pad (HF requires one).
  public var padId: Int { padTokenId ?? 1 }

  public var parameterEstimate: Int? {
    let (c, v, p) = (dModel, vocabSize, maxPositionEmbeddings + 2)
    return Self.count([
      [v, c], [2, p, c], [encoderLayers, 4 * c + 2, c], [encoderLayers, 2, encoderFfnDim, c],
      [decoderLayers, 8 * c + 2, c], [decoderLayers, 2, decoderFfnDim, c],
    ])
  }

  public func validate() throws {
    try Self.checkSizes([
      ("vocab_size", vocabSize, 1 << 22), ("d_model", dModel, 1 << 16),
      ("encoder_layers", encoderLayers, 1 << 10), ("decoder_layers", decoderLayers, 1 << 10),
      ("encoder_attention_heads", encoderAttentionHeads, 1 << 10),
      ("decoder_attention_heads", decoderAttentionHeads, 1 << 10),
      ("encoder_ffn_dim", encoderFfnDim, 1 << 18), ("decoder_ffn_dim", decoderFfnDim, 1 << 18),
      ("max_position_embeddings", maxPositionEmbeddings, 1 << 20),
    ])
    for (name, heads) in [
      ("encoder_attention_heads", encoderAttentionHeads),
      ("decoder_attention_heads", decoderAttentionHeads),
    ]
    where dModel % heads != 0 {
      throw LoomError("config: d_model (\(dModel)) must be divisible by \(name) (\(heads))")
    }
    for (name, p) in [
      ("dropout", dropout), ("attention_dropout", attentionDropout),
      ("activation_dropout", activationDropout),
      ("classifier_dropout", classifierDropout), ("encoder_layerdrop", encoderLayerdrop),
      ("decoder_layerdrop", decoderLayerdrop),
    ] where !(0..<1).contains(p) {
      throw LoomError("config: \(name) must be in [0, 1), got \(p)")
    }
    for (name, id) in [
      ("pad_token_id", padTokenId), ("bos_token_id", bosTokenId),
      ("decoder_start_token_id", decoderStartTokenId), ("forced_bos_token_id", forcedBosTokenId),
      ("forced_eos_token_id", forcedEosTokenId),
    ] + eosTokenIds.map({ ("eos_token_id", $0) }) {
      if let id, !(0..<vocabSize).contains(id) {
        throw LoomError("config: \(name) \(id) is outside the vocabulary (vocab_size \(vocabSize))")
      }
    }
    guard decoderStartTokenId != nil else {
      throw LoomError(
        "config: decoder_start_token_id is null; BART's decoder needs a start token (HF's default is 2, </s>)"
      )
    }
    try labels.validate()
    try Self.checkParameterCount(
      [[parameterEstimate ?? 0]],
      fields: "vocab_size, d_model, encoder/decoder_layers and *_ffn_dim")
  }
}
