import Foundation
import LoomCore
import LoomNN

/// RoBERTa in Hugging Face directories (model_type "roberta", base_model_prefix "roberta").
enum RobertaCheckpoint {
  static let rules = EncoderCheckpoint(
    prefix: "roberta", baseChildren: ["embeddings", "encoder", "pooler"],
    familyHeads: ["lm_head.", "classifier.", "qa_outputs."])

  static func fixUp(
    _ w: inout [String: Tensor], _ config: RobertaConfig, _ name: String, heads: [String], pooler: Bool,
    fresh: @escaping () -> [(String, Module)] = { [] }
  ) {
    let std = config.bert.initializerRange
    rules.fixUp(
      &w, className: name, ownHeads: heads, fresh: { EncoderCheckpoint.fresh(fresh(), std: std) },
      pooler: pooler ? { EncoderCheckpoint.fresh([("pooler", BertPooler(config.bert))], std: std) } : nil)
  }
}

extension RobertaModel: PretrainedModel {
  public static func make(config: RobertaConfig) throws -> Module { try RobertaModel(config) }
  public static var architecture: String { "RobertaModel" }
  public static var baseModelPrefix: String { "roberta" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: RobertaConfig) {
    RobertaCheckpoint.fixUp(&w, config, architecture, heads: [], pooler: true)
  }
}

extension RobertaForMaskedLM: PretrainedModel {
  public static func make(config: RobertaConfig) throws -> Module { try RobertaForMaskedLM(config) }
  public static var architecture: String { "RobertaForMaskedLM" }
  public static var baseModelPrefix: String { "roberta" }
  public var tiedWeightKeys: [String] {
    config.bert.tieWordEmbeddings ? ["lm_head.decoder.weight", "lm_head.decoder.bias"] : []
  }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: RobertaConfig) {
    RobertaCheckpoint.fixUp(&w, config, architecture, heads: ["lm_head."], pooler: false) {
      [("lm_head", RobertaLMHead(config.bert))]
    }
    if !config.bert.tieWordEmbeddings {
      EncoderCheckpoint.addUntiedDecoder(
        &w, key: "lm_head.decoder", embeddings: "roberta.embeddings.word_embeddings.weight", className: architecture)
    }
  }
}

extension RobertaForSequenceClassification: PretrainedModel {
  public static func make(config: RobertaConfig) throws -> Module { try RobertaForSequenceClassification(config) }
  public static var architecture: String { "RobertaForSequenceClassification" }
  public static var baseModelPrefix: String { "roberta" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: RobertaConfig) {
    RobertaCheckpoint.fixUp(&w, config, architecture, heads: ["classifier."], pooler: false) {
      [("classifier", RobertaClassificationHead(config.bert))]
    }
  }
}

extension RobertaForTokenClassification: PretrainedModel {
  public static func make(config: RobertaConfig) throws -> Module { try RobertaForTokenClassification(config) }
  public static var architecture: String { "RobertaForTokenClassification" }
  public static var baseModelPrefix: String { "roberta" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: RobertaConfig) {
    RobertaCheckpoint.fixUp(&w, config, architecture, heads: ["classifier."], pooler: false) {
      [("classifier", Linear(config.bert.hiddenSize, config.bert.numLabels))]
    }
  }
}

extension RobertaForQuestionAnswering: PretrainedModel {
  public static func make(config: RobertaConfig) throws -> Module { try RobertaForQuestionAnswering(config) }
  public static var architecture: String { "RobertaForQuestionAnswering" }
  public static var baseModelPrefix: String { "roberta" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: RobertaConfig) {
    RobertaCheckpoint.fixUp(&w, config, architecture, heads: ["qa_outputs."], pooler: false) {
      [("qa_outputs", Linear(config.bert.hiddenSize, 2))]
    }
  }
}
