import Foundation
import LoomCore
import LoomNN

/// BERT in Hugging Face directories (model_type "bert", base_model_prefix "bert").
enum BertCheckpoint {
  static let rules = EncoderCheckpoint(
    prefix: "bert", baseChildren: ["embeddings", "encoder", "pooler"],
    familyHeads: ["cls.", "classifier.", "qa_outputs."])

  static func fixUp(
    _ w: inout [String: Tensor], _ config: BertConfig, _ name: String, heads: [String],
    pooler: Bool, fresh: @escaping () -> [(String, Module)] = { [] }
  ) {
    rules.fixUp(
      &w, className: name, ownHeads: heads, fresh: { EncoderCheckpoint.fresh(fresh(), std: config.initializerRange) },
      pooler: pooler ? { EncoderCheckpoint.fresh([("pooler", BertPooler(config))], std: config.initializerRange) } : nil)
  }

  /// The masked-LM decoder keys a tied checkpoint omits (none when untied).
  static func tiedDecoder(_ config: BertConfig) -> [String] {
    config.tieWordEmbeddings ? ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"] : []
  }

  static func addUntiedDecoder(_ w: inout [String: Tensor], _ config: BertConfig, _ name: String) {
    guard !config.tieWordEmbeddings else { return }
    EncoderCheckpoint.addUntiedDecoder(
      &w, key: "cls.predictions.decoder", embeddings: "bert.embeddings.word_embeddings.weight", className: name)
  }
}

extension BertModel: PretrainedModel {
  public static func make(config: BertConfig) throws -> Module { try BertModel(config) }
  public static var architecture: String { "BertModel" }
  public static var baseModelPrefix: String { "bert" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BertConfig) {
    BertCheckpoint.fixUp(&w, config, architecture, heads: [], pooler: true)
  }
}

extension BertForMaskedLM: PretrainedModel {
  public static func make(config: BertConfig) throws -> Module { try BertForMaskedLM(config) }
  public static var architecture: String { "BertForMaskedLM" }
  public static var baseModelPrefix: String { "bert" }
  public var tiedWeightKeys: [String] { BertCheckpoint.tiedDecoder(config) }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BertConfig) {
    // A BertForPreTraining checkpoint keeps its masked-LM head.
    w["cls.seq_relationship.weight"] = nil
    w["cls.seq_relationship.bias"] = nil
    BertCheckpoint.fixUp(&w, config, architecture, heads: ["cls."], pooler: false) {
      [("cls", BertOnlyMLMHead(config))]
    }
    BertCheckpoint.addUntiedDecoder(&w, config, architecture)
  }
}

extension BertForPreTraining: PretrainedModel {
  public static func make(config: BertConfig) throws -> Module { try BertForPreTraining(config) }
  public static var architecture: String { "BertForPreTraining" }
  public static var baseModelPrefix: String { "bert" }
  public var tiedWeightKeys: [String] { BertCheckpoint.tiedDecoder(config) }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BertConfig) {
    BertCheckpoint.fixUp(&w, config, architecture, heads: ["cls."], pooler: true) {
      [("cls", BertPreTrainingHeads(config))]
    }
    BertCheckpoint.addUntiedDecoder(&w, config, architecture)
  }
}

extension BertForSequenceClassification: PretrainedModel {
  public static func make(config: BertConfig) throws -> Module { try BertForSequenceClassification(config) }
  public static var architecture: String { "BertForSequenceClassification" }
  public static var baseModelPrefix: String { "bert" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BertConfig) {
    BertCheckpoint.fixUp(&w, config, architecture, heads: ["classifier."], pooler: true) {
      [("classifier", Linear(config.hiddenSize, config.numLabels))]
    }
  }
}

extension BertForTokenClassification: PretrainedModel {
  public static func make(config: BertConfig) throws -> Module { try BertForTokenClassification(config) }
  public static var architecture: String { "BertForTokenClassification" }
  public static var baseModelPrefix: String { "bert" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BertConfig) {
    BertCheckpoint.fixUp(&w, config, architecture, heads: ["classifier."], pooler: false) {
      [("classifier", Linear(config.hiddenSize, config.numLabels))]
    }
  }
}

extension BertForQuestionAnswering: PretrainedModel {
  public static func make(config: BertConfig) throws -> Module { try BertForQuestionAnswering(config) }
  public static var architecture: String { "BertForQuestionAnswering" }
  public static var baseModelPrefix: String { "bert" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BertConfig) {
    BertCheckpoint.fixUp(&w, config, architecture, heads: ["qa_outputs."], pooler: false) {
      [("qa_outputs", Linear(config.hiddenSize, 2))]
    }
  }
}
