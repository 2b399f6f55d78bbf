import Foundation
import LoomCore
import LoomNN

/// GPT-2 in Hugging Face directories (registered as model_type "gpt2").
extension GPT2Model: PretrainedModel {
  public static func make(config: GPT2Config) throws -> Module {
    try config.validate()
    return try GPT2Model(config, generator: .global)
  }
  public static var architecture: String { "GPT2Model" }
  public static var baseModelPrefix: String { "transformer" }
  public static func fixUpCheckpoint(_ weights: inout [String: Tensor], config: GPT2Config) {
    GPT2LMHeadModel.dropAttentionMasks(&weights)
  }
}

extension GPT2LMHeadModel: PretrainedModel {
  public static func make(config: GPT2Config) throws -> Module { try GPT2LMHeadModel(config) }
  public static var architecture: String { "GPT2LMHeadModel" }
  public static var baseModelPrefix: String { "transformer" }
  /// A tied head is `transformer.wte.weight`; HF files may still hold a copy.
  public var tiedWeightKeys: [String] { config.tieWordEmbeddings ? ["lm_head.weight"] : [] }
  public static func fixUpCheckpoint(_ weights: inout [String: Tensor], config: GPT2Config) {
    dropAttentionMasks(&weights)
  }

  /// Older checkpoints store the causal mask (`attn.bias`) and `attn.masked_bias` as buffers.
  static func dropAttentionMasks(_ weights: inout [String: Tensor]) {
    for k in weights.keys where k.hasSuffix(".attn.bias") || k.hasSuffix(".attn.masked_bias") { weights[k] = nil }
  }

  /// Loads a directory written by `save_pretrained` (or by `save(to:)`).
  public static func load(from directory: String) throws -> GPT2LMHeadModel { try fromPretrained(directory) }

  /// Writes config.json and model.safetensors (HF names, a tied lm_head omitted).
  public func save(to directory: String) throws { try savePretrained(to: directory) }
}
