import Foundation
import LoomCore
import LoomNN

/// DistilBERT's config.json: its own field names (`dim`, `n_layers`, `n_heads`,
/// `hidden_dim`, …) and HF's defaults (`DistilBertConfig()` is distilbert-base-uncased).
/// LayerNorm eps is 1e-12 throughout, as in HF's code.
public struct DistilBertConfig: PretrainedConfig, Equatable {
  public static let modelType = "distilbert"
  public static let floatOnlyKeys = ["initializer_range"]

  public var vocabSize = 30522
  public var maxPositionEmbeddings = 512
  /// Fixed sine/cosine position table instead of a learned one.
  public var sinusoidalPosEmbds = false
  public var nLayers = 6
  public var nHeads = 12
  public var dim = 768
  public var hiddenDim = 3072
  public var dropout = 0.1
  public var attentionDropout = 0.1
  public var activation = Activation.gelu
  public var initializerRange = 0.02
  public var qaDropout = 0.1
  public var seqClassifDropout = 0.2
  public var padTokenId: Int? = 0
  public var bosTokenId: Int? = nil
  public var eosTokenId: Int? = nil
  public var tieWordEmbeddings = true
  public var labels = EncoderLabels()

  public static let fields: [ConfigField<DistilBertConfig>] =
    [
      .init("vocab_size", \.vocabSize), .init("max_position_embeddings", \.maxPositionEmbeddings),
      .init("sinusoidal_pos_embds", \.sinusoidalPosEmbds), .init("n_layers", \.nLayers), .init("n_heads", \.nHeads),
      .init("dim", \.dim), .init("hidden_dim", \.hiddenDim), .init("dropout", \.dropout),
      .init("attention_dropout", \.attentionDropout), .init("activation", \.activation),
      .init("initializer_range", \.initializerRange), .init("qa_dropout", \.qaDropout),
      .init("seq_classif_dropout", \.seqClassifDropout), .init("pad_token_id", \.padTokenId),
      .init("bos_token_id", \.bosTokenId), .init("eos_token_id", \.eosTokenId),
      .init("tie_word_embeddings", \.tieWordEmbeddings),
    ] + EncoderLabels.fields(\.labels)

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
  static let layerNormEps = 1e-12

  public func validate() throws {
    try Self.checkSizes([
      ("vocab_size", vocabSize, 1 << 22), ("max_position_embeddings", maxPositionEmbeddings, 1 << 20),
      ("n_layers", nLayers, 1 << 10), ("n_heads", nHeads, 1 << 10), ("dim", dim, 1 << 16),
      ("hidden_dim", hiddenDim, 1 << 18),
    ])
    guard dim % nHeads == 0 else { throw LoomError("config: dim (\(dim)) must be divisible by n_heads (\(nHeads))") }
    for (name, p) in [
      ("dropout", dropout), ("attention_dropout", attentionDropout), ("qa_dropout", qaDropout),
      ("seq_classif_dropout", seqClassifDropout),
    ] where !(0..<1).contains(p) {
      throw LoomError("config: \(name) must be in [0, 1), got \(p)")
    }
    try labels.validate()
  }
}
