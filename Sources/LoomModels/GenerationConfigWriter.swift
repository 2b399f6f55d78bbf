import Foundation

/// The generation_config.json HF's `save_pretrained` writes next to config.json for a model
/// that can generate, as `GenerationConfig.from_model_config` makes it: the generation fields
/// config.json sets (token ids; `use_cache` and `output_*` flags when present),
/// `_from_model_config` and `transformers_version`.
public enum GenerationConfigWriter {
  public static let fileName = "generation_config.json"
  /// The transformers release whose output this matches (checked by
  /// scripts/fixtures/make_generation_config_save_fixtures.py).
  public static let transformersVersion = "5.25.0"

  /// The `GenerationConfig` fields Loom's configs may carry. HF copies each one config.json sets
  /// (non-null); sampling and beam fields are not kept in Loom's configs.
  static let modelConfigKeys = [
    "bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id",
    "forced_bos_token_id", "forced_eos_token_id", "use_cache", "output_attentions",
    "output_hidden_states",
  ]

  /// `GenerationConfig`'s float fields: JSONSerialization reads `1.0` back as an integer.
  static let floatFields = [
    "temperature", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "diversity_penalty",
    "repetition_penalty", "encoder_repetition_penalty", "length_penalty", "guidance_scale",
  ]

  /// The file's JSON for a model whose config.json holds `config`.
  public static func json(fromModelConfig config: [String: Any]) throws -> Data {
    var out: [String: Any] = [
      "_from_model_config": true, "transformers_version": transformersVersion,
    ]
    for key in modelConfigKeys {
      if let value = config[key], !(value is NSNull) { out[key] = value }
    }
    return try encode(out)
  }

  /// The file's JSON for a model loaded with generation_config.json `loaded`: its fields as
  /// they were, stamped with this `transformers_version` (as a re-save in transformers does).
  public static func json(loaded: [String: Any]) throws -> Data {
    var out = loaded
    out["transformers_version"] = transformersVersion
    let floats = Set(floatFields).union(JSONFloats.floatKeys(of: loaded)).sorted()
    return JSONFloats.writing(floats, in: try encode(out))
  }

  static func encode(_ object: [String: Any]) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
  }
}
