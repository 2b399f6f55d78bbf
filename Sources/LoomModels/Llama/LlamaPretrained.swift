import Foundation
import LoomCore
import LoomNN

/// Llama in Hugging Face directories (model_type "llama", base_model_prefix "model").
enum LlamaCheckpoint {
  static let heads = ["lm_head.", "score."]

  /// Drops other heads' weights and old rotary buffers; a head the checkpoint lacks
  /// (a causal-LM base fine-tuned as a classifier) starts freshly initialised (noted).
  static func fixUp(
    _ w: inout [String: Tensor], keep: String?, className: String, fresh: () -> Module?
  ) {
    for k in Array(w.keys) where k.hasSuffix("rotary_emb.inv_freq") { w[k] = nil }
    var unused: [String] = []
    for k in Array(w.keys)
    where heads.contains(where: { k.hasPrefix($0) }) && !(keep.map { k.hasPrefix($0) } ?? false) {
      w[k] = nil
      unused.append(k)
    }
    if !unused.isEmpty {
      EncoderCheckpoint.note(
        "some checkpoint weights are not used by \(className): \(unused.sorted().joined(separator: ", "))"
      )
    }
    guard let keep, !w.keys.contains(where: { $0.hasPrefix(keep) }), let head = fresh() else {
      return
    }
    for (k, v) in head.stateDict() { w[keep + k] = v }
    EncoderCheckpoint.note(
      "\(className) weights newly initialised (not in the checkpoint; train the model before using it): \(keep.dropLast())"
    )
  }
}

extension LlamaModel: PretrainedModel {
  public static func make(config: LlamaConfig) throws -> Module { try LlamaModel(config) }
  public static var architecture: String { "LlamaModel" }
  public static var baseModelPrefix: String { "model" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: LlamaConfig) {
    LlamaCheckpoint.fixUp(&w, keep: nil, className: "LlamaModel") { nil }
  }
}

extension LlamaForCausalLM: PretrainedModel {
  public static func make(config: LlamaConfig) throws -> Module { try LlamaForCausalLM(config) }
  public static var architecture: String { "LlamaForCausalLM" }
  public static var baseModelPrefix: String { "model" }
  /// A tied head is `model.embed_tokens.weight`; HF files may still hold a copy.
  public var tiedWeightKeys: [String] { config.tieWordEmbeddings ? ["lm_head.weight"] : [] }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: LlamaConfig) {
    let tiedCopy = config.tieWordEmbeddings ? w.removeValue(forKey: "lm_head.weight") : nil
    LlamaCheckpoint.fixUp(
      &w, keep: config.tieWordEmbeddings ? nil : "lm_head.", className: "LlamaForCausalLM"
    ) {
      let head = Linear(config.hiddenSize, config.vocabSize, bias: false)
      LlamaInit.apply(head, config)
      return head
    }
    if let tiedCopy { w["lm_head.weight"] = tiedCopy }  // ignored as a tied copy
  }
}

extension LlamaForSequenceClassification: PretrainedModel {
  public static func make(config: LlamaConfig) throws -> Module {
    try LlamaForSequenceClassification(config)
  }
  public static var architecture: String { "LlamaForSequenceClassification" }
  public static var baseModelPrefix: String { "model" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: LlamaConfig) {
    LlamaCheckpoint.fixUp(&w, keep: "score.", className: "LlamaForSequenceClassification") {
      let head = Linear(config.hiddenSize, config.numLabels, bias: false)
      LlamaInit.apply(head, config)
      return head
    }
  }
}

extension LlamaForTokenClassification: PretrainedModel {
  public static func make(config: LlamaConfig) throws -> Module {
    try LlamaForTokenClassification(config)
  }
  public static var architecture: String { "LlamaForTokenClassification" }
  public static var baseModelPrefix: String { "model" }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: LlamaConfig) {
    LlamaCheckpoint.fixUp(&w, keep: "score.", className: "LlamaForTokenClassification") {
      let head = Linear(config.hiddenSize, config.numLabels)
      LlamaInit.apply(head, config)
      return head
    }
  }
}
