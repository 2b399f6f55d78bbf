import Foundation
import LoomCore
import LoomNN

/// DistilBERT in Hugging Face directories (model_type "distilbert", base_model_prefix "distilbert").
enum DistilBertCheckpoint {
  static let rules = EncoderCheckpoint(
    prefix: "distilbert", baseChildren: ["embeddings", "transformer"],
    familyHeads: ["vocab_transform.", "vocab_layer_norm.", "vocab_projector.", "pre_classifier.", "classifier.", "qa_outputs."])

  static func fixUp(
    _ w: inout [String: Tensor], _ config: DistilBertConfig, _ name: String, heads: [String],
    fresh: @escaping () -> [(String, Module)] = { [] }
  ) {
    rules.fixUp(
      &w, className: name, ownHeads: heads, fresh: { EncoderCheckpoint.fresh(fresh(), std: config.initializerRange) },
      pooler: nil)
  }
}

extension DistilBertModel: PretrainedModel {
  public static func make(config: DistilBertConfig) throws -> Module { try DistilBertModel(config) }
  public static var architecture: String { "DistilBertModel" }
  public static var baseModelPrefix: String { "distilbert" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: DistilBertConfig) {
    DistilBertCheckpoint.fixUp(&w, config, architecture, heads: [])
  }
}

extension DistilBertForMaskedLM: PretrainedModel {
  public static func make(config: DistilBertConfig) throws -> Module { try DistilBertForMaskedLM(config) }
  public static var architecture: String { "DistilBertForMaskedLM" }
  public static var baseModelPrefix: String { "distilbert" }
  public var tiedWeightKeys: [String] { config.tieWordEmbeddings ? ["vocab_projector.weight"] : [] }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: DistilBertConfig) {
    DistilBertCheckpoint.fixUp(&w, config, architecture, heads: ["vocab_transform.", "vocab_layer_norm.", "vocab_projector."]) {
      [
        ("vocab_transform", Linear(config.dim, config.dim)),
        ("vocab_layer_norm", LayerNorm(config.dim, eps: DistilBertConfig.layerNormEps)),
        ("vocab_projector", DistilBertVocabProjector(config)),
      ]
    }
    if !config.tieWordEmbeddings {
      EncoderCheckpoint.addUntiedDecoder(
        &w, key: "vocab_projector", embeddings: "distilbert.embeddings.word_embeddings.weight", className: architecture,
        withBias: false)
    }
  }
}

extension DistilBertForSequenceClassification: PretrainedModel {
  public static func make(config: DistilBertConfig) throws -> Module { try DistilBertForSequenceClassification(config) }
  public static var architecture: String { "DistilBertForSequenceClassification" }
  public static var baseModelPrefix: String { "distilbert" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: DistilBertConfig) {
    DistilBertCheckpoint.fixUp(&w, config, architecture, heads: ["pre_classifier.", "classifier."]) {
      [("pre_classifier", Linear(config.dim, config.dim)), ("classifier", Linear(config.dim, config.numLabels))]
    }
  }
}

extension DistilBertForTokenClassification: PretrainedModel {
  public static func make(config: DistilBertConfig) throws -> Module { try DistilBertForTokenClassification(config) }
  public static var architecture: String { "DistilBertForTokenClassification" }
  public static var baseModelPrefix: String { "distilbert" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: DistilBertConfig) {
    DistilBertCheckpoint.fixUp(&w, config, architecture, heads: ["classifier."]) {
      [("classifier", Linear(config.dim, config.numLabels))]
    }
  }
}

extension DistilBertForQuestionAnswering: PretrainedModel {
  public static func make(config: DistilBertConfig) throws -> Module { try DistilBertForQuestionAnswering(config) }
  public static var architecture: String { "DistilBertForQuestionAnswering" }
  public static var baseModelPrefix: String { "distilbert" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: DistilBertConfig) {
    DistilBertCheckpoint.fixUp(&w, config, architecture, heads: ["qa_outputs."]) {
      [("qa_outputs", Linear(config.dim, 2))]
    }
  }
}
