import Foundation
import LoomCore
import LoomNN

/// config.json of the original Transformer ("Attention Is All You Need") as a seq2seq LM
/// (model_type "transformer"). The trunk's fields are `torch.nn.Transformer`'s argument
/// names and defaults (d_model 512, nhead 8, 6 + 6 layers, dim_feedforward 2048, dropout
/// 0.1, relu, post-LN); the rest describe the embeddings, positions and output head.
public struct TransformerConfig: PretrainedConfig, Equatable {
  public static let modelType = "transformer"

  public var dModel = 512
  public var nhead = 8
  public var numEncoderLayers = 6
  public var numDecoderLayers = 6
  public var dimFeedforward = 2048
  public var dropout = 0.1
  /// torch accepts "relu" and "gelu"; any of HF's activation names works here.
  public var activation = Activation.relu
  public var layerNormEps = 1e-5
  /// Pre-LN layers (norm before attention and feed-forward) instead of the paper's post-LN.
  public var normFirst = false
  /// The target (decoder and output) vocabulary.
  public var vocabSize = 32000
  /// The source vocabulary; nil: the same as `vocab_size`.
  public var srcVocabSize: Int? = nil
  /// Sinusoidal encodings are tabulated for this many positions (source and target each).
  public var maxPositionEmbeddings = 512
  /// One embedding table for source and target (the paper's shared BPE vocabulary).
  public var shareEmbeddings = true
  /// The output projection is the target embedding (the paper's weight sharing).
  public var tieWordEmbeddings = true
  public var padTokenId: Int? = 0
  public var bosTokenId: Int? = 1
  /// `eos_token_id`: one id or a list.
  public var eosTokenId: TokenIdList? = 2
  /// Every end-of-text id.
  public var eosTokenIds: [Int] { eosTokenId?.ids ?? [] }
  public var decoderStartTokenId: Int? = 1
  public var isEncoderDecoder = true

  public static let fields: [ConfigField<TransformerConfig>] = [
    .init("d_model", \.dModel), .init("nhead", \.nhead),
    .init("num_encoder_layers", \.numEncoderLayers),
    .init("num_decoder_layers", \.numDecoderLayers), .init("dim_feedforward", \.dimFeedforward),
    .init("dropout", \.dropout), .init("activation", \.activation),
    .init("layer_norm_eps", \.layerNormEps), .init("norm_first", \.normFirst),
    .init("vocab_size", \.vocabSize), .init("src_vocab_size", \.srcVocabSize),
    .init("max_position_embeddings", \.maxPositionEmbeddings),
    .init("share_embeddings", \.shareEmbeddings),
    .init("tie_word_embeddings", \.tieWordEmbeddings), .init("pad_token_id", \.padTokenId),
    .init("bos_token_id", \.bosTokenId), .init("eos_token_id", \.eosTokenId),
    .init("decoder_start_token_id", \.decoderStartTokenId),
    .init("is_encoder_decoder", \.isEncoderDecoder),
  ]

  public static let floatOnlyKeys = ["dropout", "layer_norm_eps"]

  public init() {}

  public init(from decoder: Decoder) throws { self = try Self.decodeFields(from: decoder) }
  public func encode(to encoder: Encoder) throws { try encodeFields(to: encoder) }

  /// The source vocabulary size in effect.
  public var sourceVocabSize: Int { srcVocabSize ?? vocabSize }

  public var parameterEstimate: Int? {
    let (c, f) = (dModel, dimFeedforward)
    let embeddings = shareEmbeddings ? vocabSize : sourceVocabSize + vocabSize
    return Self.count([
      [embeddings, c], [tieWordEmbeddings ? 0 : vocabSize, c],
      [numEncoderLayers, 4 * c + 9, c], [numEncoderLayers, 2, f, c],
      [numDecoderLayers, 8 * c + 15, c], [numDecoderLayers, 2, f, c],
    ])
  }

  public func validate() throws {
    try Self.checkSizes([
      ("d_model", dModel, 1 << 16), ("nhead", nhead, 1 << 10),
      ("num_encoder_layers", numEncoderLayers, 1 << 10),
      ("num_decoder_layers", numDecoderLayers, 1 << 10),
      ("dim_feedforward", dimFeedforward, 1 << 18), ("vocab_size", vocabSize, 1 << 22),
      ("src_vocab_size", sourceVocabSize, 1 << 22),
      ("max_position_embeddings", maxPositionEmbeddings, 1 << 20),
    ])
    guard dModel % nhead == 0 else {
      throw LoomError("config: d_model (\(dModel)) must be divisible by nhead (\(nhead))")
    }
    guard (0..<1).contains(dropout) else {
      throw LoomError("config: dropout must be in [0, 1), got \(dropout)")
    }
    guard layerNormEps > 0, layerNormEps < 1 else {
      throw LoomError("config: layer_norm_eps must be in (0, 1), got \(layerNormEps)")
    }
    if shareEmbeddings, sourceVocabSize != vocabSize {
      throw LoomError(
        "config: share_embeddings needs one vocabulary, but src_vocab_size (\(sourceVocabSize)) differs from vocab_size (\(vocabSize)); set share_embeddings to false or make them equal"
      )
    }
    for (name, id) in [
      ("pad_token_id", padTokenId), ("bos_token_id", bosTokenId),
      ("decoder_start_token_id", decoderStartTokenId),
    ] + (eosTokenId?.ids ?? []).map({ ("eos_token_id", $0) }) {
      if let id, !(0..<vocabSize).contains(id) {
        throw LoomError("config: \(name) \(id) is outside the vocabulary (vocab_size \(vocabSize))")
      }
    }
    if let pad = padTokenId, pad >= sourceVocabSize {
      throw LoomError(
        "config: pad_token_id \(pad) is outside the source vocabulary (src_vocab_size \(sourceVocabSize))")
    }
    guard decoderStartTokenId != nil else {
      throw LoomError(
        "config: decoder_start_token_id is null; the decoder needs a start token (e.g. bos_token_id)")
    }
    try Self.checkParameterCount(
      [[parameterEstimate ?? 0]],
      fields: "vocab_size, src_vocab_size, d_model, num_*_layers and dim_feedforward")
  }
}
