import Foundation
import LoomCore
import LoomNN

/// T5 in Hugging Face directories: every class keeps `shared`, `encoder`, `decoder` at
/// the top level (no prefix). The stacks' `embed_tokens` (and a tied lm_head) are
/// copies of `shared`: ignored on load, omitted on save, as HF's `_tied_weights_keys`.
enum T5Checkpoint {
  static let embedCopies = ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"]

  /// Drops what the class has no place for: HF's ignored cross-attention relative bias
  /// (`_keys_to_ignore_on_load_unexpected`), and the parts of a larger T5 class.
  static func fixUp(_ w: inout [String: Tensor], dropping prefixes: [String]) {
    w["decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"] = nil
    for k in Array(w.keys) where prefixes.contains(where: { k.hasPrefix($0) }) { w[k] = nil }
  }
}

extension T5Model: PretrainedModel {
  public static func make(config: T5Config) throws -> Module { try T5Model(config) }
  public static var architecture: String { "T5Model" }
  public var tiedWeightKeys: [String] { T5Checkpoint.embedCopies }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: T5Config) {
    T5Checkpoint.fixUp(&w, dropping: ["lm_head."])
  }
}

extension T5ForConditionalGeneration: PretrainedModel {
  public static func make(config: T5Config) throws -> Module { try T5ForConditionalGeneration(config) }
  public static var architecture: String { "T5ForConditionalGeneration" }
  public var tiedWeightKeys: [String] {
    T5Checkpoint.embedCopies + (config.tieWordEmbeddings ? ["lm_head.weight"] : [])
  }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: T5Config) {
    T5Checkpoint.fixUp(&w, dropping: [])
  }
}

extension T5EncoderModel: PretrainedModel {
  public static func make(config: T5Config) throws -> Module { try T5EncoderModel(config) }
  public static var architecture: String { "T5EncoderModel" }
  public var tiedWeightKeys: [String] { ["encoder.embed_tokens.weight"] }
  public static func fixUpCheckpoint(_ w: inout [String: Tensor], config: T5Config) {
    T5Checkpoint.fixUp(&w, dropping: ["decoder.", "lm_head."])
  }
}
