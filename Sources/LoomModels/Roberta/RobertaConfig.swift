import Foundation
import LoomCore
import LoomNN

/// RoBERTa's config.json: BERT's fields with RoBERTa's defaults (`RobertaConfig()`:
/// vocab 50265, pad 1, bos 0, eos 2). Position ids start at pad_token_id + 1, so a
/// checkpoint's max_position_embeddings is the longest sequence + 2 (514 for 512).
public struct RobertaConfig: PretrainedConfig, Equatable {
  public static let modelType = "roberta"
  public static let floatOnlyKeys = BertConfig.floatOnlyKeys

  /// Every field, under BERT's names.
  public var bert: BertConfig

  public static let fields: [ConfigField<RobertaConfig>] = BertConfig.fields(\.bert)

  public init() {
    bert = BertConfig()
    bert.vocabSize = 50265
    bert.padTokenId = 1
    bert.bosTokenId = 0
    bert.eosTokenId = 2
  }

  /// The seeds' "wolfBERTa": RobertaConfig(vocab_size=52000, max_position_embeddings=514,
  /// num_attention_heads=12, num_hidden_layers=6, type_vocab_size=1).
  public static func wolfBERTa(vocabSize: Int = 52000) -> RobertaConfig {
    var c = RobertaConfig()
    c.bert.vocabSize = vocabSize
    c.bert.maxPositionEmbeddings = 514
    c.bert.numAttentionHeads = 12
    c.bert.numHiddenLayers = 6
    c.bert.typeVocabSize = 1
    return c
  }

  public init(from decoder: Decoder) throws {
    self = try Self.decodeFields(from: decoder)
    try bert.labels.applyNumLabels(from: decoder)
  }
  public func encode(to encoder: Encoder) throws { try encodeFields(to: encoder) }

  public var paddingIdx: Int { bert.padTokenId ?? 1 }

  public func validate() throws {
    try bert.validate()
    guard (0..<bert.maxPositionEmbeddings - 1).contains(paddingIdx), paddingIdx < bert.vocabSize else {
      throw LoomError(
        "config: pad_token_id \(paddingIdx) must be below vocab_size (\(bert.vocabSize)) and leave positions after it (max_position_embeddings \(bert.maxPositionEmbeddings))")
    }
  }
}
