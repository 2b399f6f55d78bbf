import Foundation
import LoomCore
import LoomNN

/// BLOOM in Hugging Face directories (model_type "bloom", base_model_prefix "transformer").
/// A checkpoint of another head loads as HF loads it: other heads' weights are dropped and a
/// missing head starts freshly initialised (noted on stderr).
enum BloomCheckpoint {
  static let rules = EncoderCheckpoint(
    prefix: "transformer",
    baseChildren: ["word_embeddings", "word_embeddings_layernorm", "h", "ln_f"],
    familyHeads: ["lm_head.", "score.", "classifier.", "qa_outputs."])

  static func fixUp(
    _ w: inout [String: Tensor], _ config: BloomConfig, _ name: String, heads: [String],
    fresh: @escaping () -> [(String, Module)] = { [] }
  ) {
    rules.fixUp(
      &w, className: name, ownHeads: heads,
      fresh: { EncoderCheckpoint.fresh(fresh(), std: config.initializerRange) },
      pooler: nil)
  }
}

extension BloomModel: PretrainedModel {
  public static func make(config: BloomConfig) throws -> Module { try BloomModel(config) }
  public static var architecture: String { "BloomModel" }
  public static var baseModelPrefix: String { "transformer" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BloomConfig) {
    BloomCheckpoint.fixUp(&w, config, architecture, heads: [])
  }
}

extension BloomForCausalLM: PretrainedModel {
  public static func make(config: BloomConfig) throws -> Module { try BloomForCausalLM(config) }
  public static var architecture: String { "BloomForCausalLM" }
  public static var baseModelPrefix: String { "transformer" }
  /// A tied head is `transformer.word_embeddings.weight`; HF files may still hold a copy.
  public var tiedWeightKeys: [String] { config.tieWordEmbeddings ? ["lm_head.weight"] : [] }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BloomConfig) {
    if config.tieWordEmbeddings {
      w["lm_head.weight"] = nil
      BloomCheckpoint.fixUp(&w, config, architecture, heads: [])
    } else {
      BloomCheckpoint.fixUp(&w, config, architecture, heads: ["lm_head."])
      EncoderCheckpoint.addUntiedDecoder(
        &w, key: "lm_head", embeddings: "transformer.word_embeddings.weight",
        className: architecture, withBias: false)
    }
  }
}

extension BloomForSequenceClassification: PretrainedModel {
  public static func make(config: BloomConfig) throws -> Module {
    try BloomForSequenceClassification(config)
  }
  public static var architecture: String { "BloomForSequenceClassification" }
  public static var baseModelPrefix: String { "transformer" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BloomConfig) {
    BloomCheckpoint.fixUp(&w, config, architecture, heads: ["score."]) {
      [("score", Linear(config.hiddenSize, config.numLabels, bias: false))]
    }
  }
}

extension BloomForTokenClassification: PretrainedModel {
  public static func make(config: BloomConfig) throws -> Module {
    try BloomForTokenClassification(config)
  }
  public static var architecture: String { "BloomForTokenClassification" }
  public static var baseModelPrefix: String { "transformer" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BloomConfig) {
    BloomCheckpoint.fixUp(&w, config, architecture, heads: ["classifier."]) {
      [("classifier", Linear(config.hiddenSize, config.numLabels))]
    }
  }
}
