import Foundation

/// adapter_config.json as PEFT 0.21 reads and writes it. Decoding ignores fields Loom does
/// not use when they hold their defaults and refuses the ones that would change the math.
extension LoraConfig: Codable {
  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: Key.self)
    func value<T: Decodable>(_ key: String, _ type: T.Type) throws -> T? {
      try c.decodeIfPresent(T.self, forKey: Key(key))
    }
    let peftType = try value("peft_type", String.self)
    guard peftType == PeftType.lora.rawValue else {
      let known = PeftType.allCases.map(\.rawValue).joined(separator: ", ")
      throw PeftError(
        "adapter_config.json: peft_type \(peftType.map { "'\($0)'" } ?? "is missing") where LoRA's is 'LORA' "
          + "(Loom reads \(known)); load this adapter with the matching config type")
    }
    self.init()
    r = try value("r", Int.self) ?? 8
    loraAlpha = try value("lora_alpha", Double.self) ?? 8
    loraDropout = try value("lora_dropout", Double.self) ?? 0
    targetModules = try Self.targets(c, "target_modules")
    excludeModules = try Self.targets(c, "exclude_modules")
    if let b = try value("bias", String.self) {
      guard let parsed = LoraBias(rawValue: b) else {
        throw PeftError("adapter_config.json: bias '\(b)' is not one of none, all, lora_only")
      }
      bias = parsed
    }
    fanInFanOut = try value("fan_in_fan_out", Bool.self) ?? false
    modulesToSave = try value("modules_to_save", [String].self)
    useRslora = try value("use_rslora", Bool.self) ?? false
    if let flag = try? value("init_lora_weights", Bool.self) {
      initLoraWeights = flag ? .kaiming : .random
    } else if let s = try value("init_lora_weights", String.self) {
      guard s == "gaussian" else {
        throw PeftError(
          "adapter_config.json: init_lora_weights '\(s)' is not supported (true, false or \"gaussian\")"
        )
      }
      initLoraWeights = .gaussian
    }
    if let one = try? value("layers_to_transform", Int.self) {
      layersToTransform = [one]
    } else {
      layersToTransform = try value("layers_to_transform", [Int].self)
    }
    if let one = try? value("layers_pattern", String.self) {
      layersPattern = [one]
    } else {
      layersPattern = try value("layers_pattern", [String].self)
    }
    rankPattern = try value("rank_pattern", [String: Int].self) ?? [:]
    alphaPattern = try value("alpha_pattern", [String: Double].self) ?? [:]
    if let t = try value("task_type", String.self) {
      guard let parsed = PeftTaskType(rawValue: t) else {
        throw PeftError(
          "adapter_config.json: task_type '\(t)' is not one of "
            + PeftTaskType.allCases.map(\.rawValue).joined(separator: ", "))
      }
      taskType = parsed
    }
    baseModelNameOrPath = try value("base_model_name_or_path", String.self)
    revision = try value("revision", String.self)
    inferenceMode = try value("inference_mode", Bool.self) ?? false
    // Variants that change the computation: refuse rather than compute something else.
    for flag in ["use_dora", "lora_bias", "use_qalora"] where (try? value(flag, Bool.self)) == true
    {
      throw PeftError(
        "adapter_config.json: \(flag) true is not supported by Loom's LoRA (plain LoRA only)")
    }
    if c.contains(Key("layer_replication")), !(try c.decodeNil(forKey: Key("layer_replication"))) {
      throw PeftError("adapter_config.json: layer_replication is not supported by Loom's LoRA")
    }
    try validate()
  }

  private static func targets(_ c: KeyedDecodingContainer<Key>, _ key: String) throws
    -> LoraTargetModules?
  {
    if let s = try? c.decodeIfPresent(String.self, forKey: Key(key)) {
      return s.lowercased() == "all-linear" ? .allLinear : .regex(s)
    }
    return try c.decodeIfPresent([String].self, forKey: Key(key)).map { .names($0) }
  }

  public func encode(to encoder: Encoder) throws {
    try json.encode(to: encoder)
  }

  /// PEFT's full field set (so PEFT's `LoraConfig(**json)` loads it), Loom's values.
  public var json: PeftJSON {
    func number(_ d: Double) -> PeftJSON {
      d == d.rounded() && abs(d) < 1e15 ? .int(Int(d)) : .double(d)
    }
    func optional<T>(_ v: T?, _ f: (T) -> PeftJSON) -> PeftJSON { v.map(f) ?? .null }
    let fields: [String: PeftJSON] = [
      "alora_invocation_tokens": .null, "arrow_config": .null, "auto_mapping": .null,
      "corda_config": .null,
      "ensure_weight_tying": .bool(false), "eva_config": .null, "kasa_config": .null,
      "layer_replication": .null,
      "loftq_config": .object([:]), "lora_bias": .bool(false), "lora_ga_config": .null,
      "megatron_config": .null,
      "megatron_core": .string("megatron.core"), "monteclora_config": .null,
      "qalora_group_size": .int(16),
      "target_parameters": .null, "trainable_token_indices": .null, "use_bdlora": .null,
      "use_dora": .bool(false),
      "use_qalora": .bool(false), "velora_config": .null,
      "alpha_pattern": .object(alphaPattern.mapValues(number)),
      "base_model_name_or_path": optional(baseModelNameOrPath) { .string($0) },
      "bias": .string(bias.rawValue),
      "exclude_modules": optional(excludeModules) { $0.json },
      "fan_in_fan_out": .bool(fanInFanOut),
      "inference_mode": .bool(inferenceMode),
      "init_lora_weights": initLoraWeights.json,
      "layers_pattern": optional(layersPattern) { .array($0.map { .string($0) }) },
      "layers_to_transform": optional(layersToTransform) { .array($0.map { .int($0) }) },
      "lora_alpha": number(loraAlpha),
      "lora_dropout": .double(loraDropout),
      "modules_to_save": optional(modulesToSave) { .array($0.map { .string($0) }) },
      "peft_type": .string(peftType.rawValue),
      "peft_version": .string("0.21.2"),
      "r": .int(r),
      "rank_pattern": .object(rankPattern.mapValues { .int($0) }),
      "revision": optional(revision) { .string($0) },
      "target_modules": optional(targetModules) { $0.json },
      "task_type": optional(taskType) { .string($0.rawValue) },
      "use_rslora": .bool(useRslora),
    ]
    return .object(fields)
  }
}
