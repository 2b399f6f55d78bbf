import Foundation
import LoomCore
import LoomModels
import LoomNN
import LoomTokenizers

/// Named model shapes for `loom train seq2seq --preset` (config.json fields; vocab_size and
/// special ids come from the tokenizer).
enum Seq2SeqPresets {
  static let names = ["bart-tiny", "bart-small", "bart-base", "bart-large"]

  static func fields(_ name: String) -> [String: Any]? {
    func bart(_ d: Int, _ layers: Int, _ heads: Int, _ ffn: Int, positions: Int) -> [String: Any] {
      [
        "model_type": "bart", "d_model": d, "encoder_layers": layers, "decoder_layers": layers,
        "encoder_attention_heads": heads, "decoder_attention_heads": heads, "encoder_ffn_dim": ffn,
        "decoder_ffn_dim": ffn, "max_position_embeddings": positions,
      ]
    }
    switch name {
    case "bart-tiny": return bart(128, 2, 4, 512, positions: 256)
    case "bart-small": return bart(256, 4, 4, 1024, positions: 512)
    case "bart-base": return bart(768, 6, 12, 3072, positions: 1024)  // facebook/bart-base
    case "bart-large": return bart(1024, 12, 16, 4096, positions: 1024)  // facebook/bart-large
    default: return nil
    }
  }
}

/// The model `loom train seq2seq` trains: a directory through `AutoModelForSeq2SeqLM`, else a
/// fresh one from --config / --preset / --model-type through the registry, so any family with a
/// seq2seq LM class that implements `Seq2SeqLanguageModel` trains without changes here.
enum Seq2SeqModels {
  /// The model types whose families have an `AutoModelForSeq2SeqLM` class.
  static var seq2seqTypes: [String] {
    ModelRegistry.supportedModelTypes.filter { ModelRegistry.family($0)?.classes[.seq2seqLM] != nil }
  }

  static func requireSeq2Seq(_ type: String, source: String) throws {
    guard let family = ModelRegistry.family(type) else {
      throw LoomError(
        "\(source): unknown model_type '\(type)'; seq2seq training needs one with a seq2seq LM head: \(seq2seqTypes.joined(separator: ", "))")
    }
    guard family.classes[.seq2seqLM] != nil else {
      throw LoomError(
        "\(source): model_type '\(type)' has no seq2seq LM head (AutoModelForSeq2SeqLM) in Loom; use one that has: \(seq2seqTypes.joined(separator: ", "))")
    }
  }

  static func build(
    directory: String?, modelType: String, config: String?, preset: String?, tokenizer tok: Tokenizer
  ) throws -> Module & Seq2SeqLanguageModel {
    let module: Module
    if let directory {
      let object = try ConfigFile.object(at: directory + "/config.json")
      let type = object["model_type"] as? String ?? "?"
      try requireSeq2Seq(type, source: "--model \(directory)")
      try checkStartToken(object, source: directory + "/config.json")
      module = try AutoModelForSeq2SeqLM.from(directory: directory)
    } else {
      var fields: [String: Any]
      let source: String
      if let config {
        fields = try ConfigFile.object(at: config)
        source = "--config \(config)"
      } else if let preset {
        fields = Seq2SeqPresets.fields(preset)!
        source = "--preset \(preset)"
      } else {
        // bart-tiny for BART; another family's own defaults (HF's `XConfig()`).
        fields = modelType == "bart" ? Seq2SeqPresets.fields("bart-tiny")! : ["model_type": modelType]
        source = "--model-type \(modelType)"
      }
      let type = fields["model_type"] as? String ?? modelType
      try requireSeq2Seq(type, source: source)
      if fields["vocab_size"] == nil { fields["vocab_size"] = tok.vocabSize }
      let ids: [(String, UInt32?)] = [
        ("pad_token_id", tok.padTokenId), ("bos_token_id", tok.bosTokenId), ("eos_token_id", tok.eosTokenId),
      ]
      for (key, id) in ids where fields[key] == nil { fields[key] = id.map { Int($0) as Any } ?? NSNull() }
      // BART's decoder starts from </s> and ends on it; the original Transformer from <s> as in
      // the paper's setups; T5-style models from the pad.
      let start =
        type == "bart" ? tok.eosTokenId : type == "transformer" ? tok.bosTokenId ?? tok.padTokenId : tok.padTokenId
      if fields["decoder_start_token_id"] == nil, let start { fields["decoder_start_token_id"] = Int(start) }
      if type == "bart", fields["forced_eos_token_id"] == nil {
        fields["forced_eos_token_id"] = tok.eosTokenId.map { Int($0) as Any } ?? NSNull()
      }
      let c = try ModelRegistry.config(modelType: type, fields: fields, source: source)
      try checkStartToken(try encoded(c), source: source)
      module = try ModelRegistry.make(.seq2seqLM, config: c)
    }
    guard let model = module as? Module & Seq2SeqLanguageModel else {
      throw LoomError(
        "\(type(of: module)) does not compute a seq2seq training loss yet (it does not implement Seq2SeqLanguageModel)")
    }
    return model
  }

  static func encoded(_ c: any PretrainedConfig) throws -> [String: Any] {
    let data = try JSONEncoder().encode(c)
    return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
  }

  /// Training shifts the labels right after decoder_start_token_id: a config without one fails here.
  static func checkStartToken(_ object: [String: Any], source: String) throws {
    guard object["decoder_start_token_id"] as? Int != nil else {
      throw LoomError(
        "\(source): no decoder_start_token_id, and the decoder's inputs are the labels shifted right after it; set decoder_start_token_id (BART: the </s> id, T5: the pad id)")
    }
  }
}
