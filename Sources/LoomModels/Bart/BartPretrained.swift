import Foundation
import LoomCore
import LoomNN

/// BART in Hugging Face directories (model_type "bart", base_model_prefix "model").
/// Tied copies of `shared` (both embed_tokens, lm_head) are ignored on load and omitted
/// on save, as HF's `_tied_weights_keys`.
enum BartCheckpoint {
  static func tied(_ config: BartConfig, prefix: String) -> [String] {
    config.tieWordEmbeddings
      ? [prefix + "encoder.embed_tokens.weight", prefix + "decoder.embed_tokens.weight"] : []
  }

  /// Drops weights of other heads; a classification head the checkpoint lacks starts fresh (noted).
  static func fixUp(_ w: inout [String: Tensor], keep: [String], fresh: () -> [(String, Module)]) {
    let heads = ["final_logits_bias", "lm_head.", "classification_head.", "qa_outputs."]
    for k in Array(w.keys)
    where heads.contains(where: { k.hasPrefix($0) }) && !keep.contains(where: { k.hasPrefix($0) }) {
      w[k] = nil
    }
    for (name, m) in fresh() where !w.keys.contains(where: { $0.hasPrefix(name + ".") }) {
      for (k, v) in m.stateDict() { w[name + "." + k] = v }
      EncoderCheckpoint.note(
        "\(name) weights newly initialised (not in the checkpoint; train the model before using it)"
      )
    }
  }
}

extension BartModel: PretrainedModel {
  public static func make(config: BartConfig) throws -> Module { try BartModel(config) }
  public static var architecture: String { "BartModel" }
  public static var baseModelPrefix: String { "model" }
  public var tiedWeightKeys: [String] { BartCheckpoint.tied(config, prefix: "") }
}

extension BartForConditionalGeneration: PretrainedModel {
  public static func make(config: BartConfig) throws -> Module {
    try BartForConditionalGeneration(config)
  }
  public static var architecture: String { "BartForConditionalGeneration" }
  public static var baseModelPrefix: String { "model" }
  public var tiedWeightKeys: [String] {
    BartCheckpoint.tied(config, prefix: "model.")
      + (config.tieWordEmbeddings ? ["lm_head.weight"] : [])
  }
  /// HF's `_keys_to_ignore_on_load_missing`: a checkpoint without `final_logits_bias` gets zeros.
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BartConfig) {
    BartCheckpoint.fixUp(&w, keep: ["final_logits_bias", "lm_head."], fresh: { [] })
    if w["final_logits_bias"] == nil {
      w["final_logits_bias"] = Tensor.zeros([1, config.vocabSize])
    }
  }
}

extension BartForSequenceClassification: PretrainedModel {
  public static func make(config: BartConfig) throws -> Module {
    try BartForSequenceClassification(config)
  }
  public static var architecture: String { "BartForSequenceClassification" }
  public static var baseModelPrefix: String { "model" }
  public var tiedWeightKeys: [String] { BartCheckpoint.tied(config, prefix: "model.") }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: BartConfig) {
    BartCheckpoint.fixUp(&w, keep: ["classification_head."]) {
      let head = BartClassificationHead(config)
      BartInit.apply(head, std: config.initStd, paddingIdx: nil)
      return [("classification_head", head)]
    }
  }
}
