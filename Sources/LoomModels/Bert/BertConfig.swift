import Foundation
import LoomCore
import LoomNN

/// BERT's config.json: Hugging Face's field names and defaults (`BertConfig()` is
/// bert-base-uncased). RoBERTa's config holds one of these with its own defaults.
public struct BertConfig: PretrainedConfig, Equatable {
  public static let modelType = "bert"
  public static let floatOnlyKeys = ["initializer_range", "layer_norm_eps"]

  public var vocabSize = 30522
  public var hiddenSize = 768
  public var numHiddenLayers = 12
  public var numAttentionHeads = 12
  public var intermediateSize = 3072
  /// Exact-erf GELU for "gelu".
  public var hiddenAct = Activation.gelu
  public var hiddenDropoutProb = 0.1
  public var attentionProbsDropoutProb = 0.1
  public var maxPositionEmbeddings = 512
  public var typeVocabSize = 2
  public var initializerRange = 0.02
  public var layerNormEps = 1e-12
  public var padTokenId: Int? = 0
  public var bosTokenId: Int? = nil
  public var eosTokenId: Int? = nil
  /// Only "absolute" is supported (relative_key variants are rejected by `validate`).
  public var positionEmbeddingType = "absolute"
  /// Dropout before classification heads; nil means hidden_dropout_prob.
  public var classifierDropout: Double? = nil
  /// The masked-LM decoder shares the word embeddings; false gives it its own weight.
  public var tieWordEmbeddings = true
  public var labels = EncoderLabels()

  public static let fields: [ConfigField<BertConfig>] = fields(\.self)

  /// The fields of a config that holds a BertConfig at `base` (RoBERTa).
  static func fields<R>(_ base: WritableKeyPath<R, BertConfig>) -> [ConfigField<R>] {
    func f<V: Codable>(_ key: String, _ p: WritableKeyPath<BertConfig, V>) -> ConfigField<R> {
      .init(key, base.appending(path: p))
    }
    return [
      f("vocab_size", \.vocabSize), f("hidden_size", \.hiddenSize), f("num_hidden_layers", \.numHiddenLayers),
      f("num_attention_heads", \.numAttentionHeads), f("intermediate_size", \.intermediateSize),
      f("hidden_act", \.hiddenAct), f("hidden_dropout_prob", \.hiddenDropoutProb),
      f("attention_probs_dropout_prob", \.attentionProbsDropoutProb),
      f("max_position_embeddings", \.maxPositionEmbeddings), f("type_vocab_size", \.typeVocabSize),
      f("initializer_range", \.initializerRange), f("layer_norm_eps", \.layerNormEps),
      f("pad_token_id", \.padTokenId), f("bos_token_id", \.bosTokenId), f("eos_token_id", \.eosTokenId),
      f("position_embedding_type", \.positionEmbeddingType), f("classifier_dropout", \.classifierDropout),
      f("tie_word_embeddings", \.tieWordEmbeddings),
    ] + EncoderLabels.fields(base.appending(path: \.labels))
  }

  public init() {}

  /// HF's defaults with the sizes given (like `BertConfig(hidden_size=…)`).
  public init(
    vocabSize: Int = 30522, hiddenSize: Int = 768, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12,
    intermediateSize: Int = 3072, maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2, numLabels: Int = 2
  ) {
    self.vocabSize = vocabSize
    self.hiddenSize = hiddenSize
    self.numHiddenLayers = numHiddenLayers
    self.numAttentionHeads = numAttentionHeads
    self.intermediateSize = intermediateSize
    self.maxPositionEmbeddings = maxPositionEmbeddings
    self.typeVocabSize = typeVocabSize
    labels.numLabels = numLabels
  }

  public init(from decoder: Decoder) throws {
    self = try Self.decodeFields(from: decoder)
    try labels.applyNumLabels(from: decoder)
  }
  public func encode(to encoder: Encoder) throws { try encodeFields(to: encoder) }

  public var numLabels: Int {
    get { labels.numLabels }
    set { labels.numLabels = newValue }
  }
  /// Dropout of the classification and token-classification heads.
  public var classifierDropoutProb: Double { classifierDropout ?? hiddenDropoutProb }
  public var headDim: Int { hiddenSize / numAttentionHeads }

  public func validate() throws {
    try Self.checkSizes([
      ("vocab_size", vocabSize, 1 << 22), ("hidden_size", hiddenSize, 1 << 16),
      ("num_hidden_layers", numHiddenLayers, 1 << 10), ("num_attention_heads", numAttentionHeads, 1 << 10),
      ("intermediate_size", intermediateSize, 1 << 18), ("max_position_embeddings", maxPositionEmbeddings, 1 << 20),
      ("type_vocab_size", typeVocabSize, 1 << 16),
    ])
    guard hiddenSize % numAttentionHeads == 0 else {
      throw LoomError("config: hidden_size (\(hiddenSize)) must be divisible by num_attention_heads (\(numAttentionHeads))")
    }
    guard positionEmbeddingType == "absolute" else {
      throw LoomError(
        "config: position_embedding_type '\(positionEmbeddingType)' is not supported (Loom implements \"absolute\" only)")
    }
    for (name, p) in [
      ("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb),
      ("classifier_dropout", classifierDropoutProb),
    ] where !(0..<1).contains(p) {
      throw LoomError("config: \(name) must be in [0, 1), got \(p)")
    }
    guard layerNormEps > 0 else { throw LoomError("config: layer_norm_eps must be positive, got \(layerNormEps)") }
    try labels.validate()
  }
}
