import Foundation
import LoomIO

/// PEFT's `prompt_tuning_init`: how the virtual-token embeddings start.
public enum PromptTuningInit: String, Codable, Sendable, CaseIterable {
  /// The tokenized `prompt_tuning_init_text`'s word embeddings, repeated or truncated to fit.
  case text = "TEXT"
  /// Word embeddings of tokens drawn uniformly from the vocabulary.
  case sampleVocab = "SAMPLE_VOCAB"
  /// N(0, 1), torch.nn.Embedding's initialisation.
  case random = "RANDOM"
}

/// PEFT's `PromptTuningConfig` with its field names and defaults; `adapter_config.json` of a
/// prompt-tuning adapter. The sizes left nil are filled from the base model by `PromptTuningCausalLM`.
public struct PromptTuningConfig: Equatable, Sendable {
  public var numVirtualTokens: Int
  public var promptTuningInit: PromptTuningInit = .random
  public var promptTuningInitText: String?
  public var tokenizerNameOrPath: String?
  /// 1 for decoder-only models (2 for encoder–decoder ones, whose encoder and decoder each get a prompt).
  public var numTransformerSubmodules: Int?
  public var tokenDim: Int?
  public var numAttentionHeads: Int?
  public var numLayers: Int?
  public var taskType: PeftTaskType?
  public var baseModelNameOrPath: String?
  public var revision: String?
  public var inferenceMode = false
  public var modulesToSave: [String]?

  public init(
    numVirtualTokens: Int, promptTuningInit: PromptTuningInit = .random,
    promptTuningInitText: String? = nil,
    tokenizerNameOrPath: String? = nil, taskType: PeftTaskType? = .causalLM
  ) {
    self.numVirtualTokens = numVirtualTokens
    self.promptTuningInit = promptTuningInit
    self.promptTuningInitText = promptTuningInitText
    self.tokenizerNameOrPath = tokenizerNameOrPath
    self.taskType = taskType
  }

  /// Virtual tokens × transformer submodules: the rows of `prompt_embeddings`.
  public var totalVirtualTokens: Int { numVirtualTokens * (numTransformerSubmodules ?? 1) }

  /// PEFT's `__post_init__` checks, plus sizes that must be positive.
  public func validate() throws {
    guard numVirtualTokens > 0 else {
      throw PromptTuningError("num_virtual_tokens is \(numVirtualTokens); it must be at least 1")
    }
    if let n = numTransformerSubmodules, !(1...2).contains(n) {
      throw PromptTuningError(
        "num_transformer_submodules is \(n); it must be 1 (decoder-only) or 2 (encoder–decoder)")
    }
    if let d = tokenDim, d <= 0 {
      throw PromptTuningError("token_dim is \(d); it must be positive")
    }
    if promptTuningInit == .text && !inferenceMode {
      guard promptTuningInitText != nil else {
        throw PromptTuningError(
          "prompt_tuning_init is TEXT but prompt_tuning_init_text is null; give the text or use RANDOM"
        )
      }
    }
  }
}

/// A prompt-tuning adapter that cannot be built, loaded or saved: what is wrong and how to fix it.
public struct PromptTuningError: Error, CustomStringConvertible, Equatable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { "prompt tuning: \(message)" }
}

extension PromptTuningConfig {
  /// PEFT 0.21's full field set for prompt tuning, in its spelling.
  enum Key: String, CodingKey, CaseIterable {
    case autoMapping = "auto_mapping"
    case baseModelNameOrPath = "base_model_name_or_path"
    case inferenceMode = "inference_mode"
    case modulesToSave = "modules_to_save"
    case numAttentionHeads = "num_attention_heads"
    case numLayers = "num_layers"
    case numTransformerSubmodules = "num_transformer_submodules"
    case numVirtualTokens = "num_virtual_tokens"
    case peftType = "peft_type"
    case peftVersion = "peft_version"
    case promptTuningInit = "prompt_tuning_init"
    case promptTuningInitText = "prompt_tuning_init_text"
    case revision
    case taskType = "task_type"
    case tokenDim = "token_dim"
    case tokenizerKwargs = "tokenizer_kwargs"
    case tokenizerNameOrPath = "tokenizer_name_or_path"
  }

  /// The PEFT release whose file layout Loom writes.
  static let peftVersion = "0.21.2"

  /// adapter_config.json as PEFT writes it: `json.dumps(config, indent=2, sort_keys=True)`.
  public func jsonText() -> String {
    func string(_ s: String?) -> String { s.map(PythonJSON.quote) ?? "null" }
    func int(_ i: Int?) -> String { i.map(String.init) ?? "null" }
    let values: [Key: String] = [
      .autoMapping: "null", .baseModelNameOrPath: string(baseModelNameOrPath),
      .inferenceMode: inferenceMode ? "true" : "false",
      .modulesToSave: modulesToSave.map(PythonJSON.list) ?? "null",
      .numAttentionHeads: int(numAttentionHeads), .numLayers: int(numLayers),
      .numTransformerSubmodules: int(numTransformerSubmodules),
      .numVirtualTokens: int(numVirtualTokens),
      .peftType: string(PeftType.promptTuning.rawValue), .peftVersion: string(Self.peftVersion),
      .promptTuningInit: string(promptTuningInit.rawValue),
      .promptTuningInitText: string(promptTuningInitText),
      .revision: string(revision), .taskType: string(taskType?.rawValue), .tokenDim: int(tokenDim),
      .tokenizerKwargs: "null", .tokenizerNameOrPath: string(tokenizerNameOrPath),
    ]
    let lines = values.keys.map(\.rawValue).sorted().map { key in
      "  \(PythonJSON.quote(key)): \(values[Key(rawValue: key)!]!)"
    }
    return "{\n" + lines.joined(separator: ",\n") + "\n}"
  }

  /// Reads adapter_config.json (`path` names it in errors). Fields PEFT would fill stay nil when absent.
  public static func decode(_ data: Data, path: String) throws -> PromptTuningConfig {
    try JSONInput.decode(PromptTuningConfigFile.self, from: data, path: path).config(path: path)
  }

  public static func load(directory: String) throws -> PromptTuningConfig {
    let path = (directory as NSString).appendingPathComponent("adapter_config.json")
    return try decode(FileInput.read(path, limit: 1 << 20), path: path)
  }
}

/// The decoded file before its peft_type is checked (so a LoRA or unknown adapter gets a clear error).
struct PromptTuningConfigFile: Decodable {
  typealias Key = PromptTuningConfig.Key
  let peftType: String?
  let numVirtualTokens: Int?
  let promptTuningInit: String?
  let promptTuningInitText: String?
  let tokenizerNameOrPath: String?
  let numTransformerSubmodules: Int?
  let tokenDim: Int?
  let numAttentionHeads: Int?
  let numLayers: Int?
  let taskType: String?
  let baseModelNameOrPath: String?
  let revision: String?
  let inferenceMode: Bool?
  let modulesToSave: [String]?

  init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: Key.self)
    peftType = try c.decodeIfPresent(String.self, forKey: .peftType)
    numVirtualTokens = try c.decodeIfPresent(Int.self, forKey: .numVirtualTokens)
    promptTuningInit = try c.decodeIfPresent(String.self, forKey: .promptTuningInit)
    promptTuningInitText = try c.decodeIfPresent(String.self, forKey: .promptTuningInitText)
    tokenizerNameOrPath = try c.decodeIfPresent(String.self, forKey: .tokenizerNameOrPath)
    numTransformerSubmodules = try c.decodeIfPresent(Int.self, forKey: .numTransformerSubmodules)
    tokenDim = try c.decodeIfPresent(Int.self, forKey: .tokenDim)
    numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads)
    numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers)
    taskType = try c.decodeIfPresent(String.self, forKey: .taskType)
    baseModelNameOrPath = try c.decodeIfPresent(String.self, forKey: .baseModelNameOrPath)
    revision = try c.decodeIfPresent(String.self, forKey: .revision)
    inferenceMode = try c.decodeIfPresent(Bool.self, forKey: .inferenceMode)
    modulesToSave = try c.decodeIfPresent([String].self, forKey: .modulesToSave)
  }

  func config(path: String) throws -> PromptTuningConfig {
    guard let type = peftType else {
      throw PromptTuningError(
        "\(path): peft_type is missing; a prompt-tuning adapter has \"peft_type\": \"PROMPT_TUNING\""
      )
    }
    guard type == PeftType.promptTuning.rawValue else {
      let known = PeftType.allCases.map(\.rawValue).joined(separator: ", ")
      let hint =
        PeftType(rawValue: type) != nil
        ? "this is a \(type) adapter; load it as one, not as prompt tuning"
        : "Loom reads \(known); save the adapter with one of them"
      throw PromptTuningError("\(path): peft_type \"\(type)\" is not PROMPT_TUNING: \(hint)")
    }
    guard let n = numVirtualTokens else {
      throw PromptTuningError(
        "\(path): num_virtual_tokens is missing; set it to the number of prompt rows")
    }
    var config = PromptTuningConfig(numVirtualTokens: n, taskType: nil)
    if let raw = promptTuningInit {
      guard let value = PromptTuningInit(rawValue: raw) else {
        throw PromptTuningError(
          "\(path): prompt_tuning_init \"\(raw)\" is unknown; use one of \(PromptTuningInit.allCases.map(\.rawValue))"
        )
      }
      config.promptTuningInit = value
    }
    if let raw = taskType {
      guard let value = PeftTaskType(rawValue: raw) else {
        throw PromptTuningError(
          "\(path): task_type \"\(raw)\" is unknown; use one of \(PeftTaskType.allCases.map(\.rawValue))"
        )
      }
      config.taskType = value
    }
    config.promptTuningInitText = promptTuningInitText
    config.tokenizerNameOrPath = tokenizerNameOrPath
    config.numTransformerSubmodules = numTransformerSubmodules
    config.tokenDim = tokenDim
    config.numAttentionHeads = numAttentionHeads
    config.numLayers = numLayers
    config.baseModelNameOrPath = baseModelNameOrPath
    config.revision = revision
    config.inferenceMode = inferenceMode ?? false
    config.modulesToSave = modulesToSave
    do { try config.validate() } catch let e as PromptTuningError {
      throw PromptTuningError("\(path): \(e.message)")
    }
    return config
  }
}

/// Python's `json.dumps` spelling (ensure_ascii) for the scalars and lists adapter_config.json holds.
enum PythonJSON {
  static func quote(_ s: String) -> String {
    var out = "\""
    for unit in s.utf16 {
      switch unit {
      case 0x22: out += "\\\""
      case 0x5C: out += "\\\\"
      case 0x0A: out += "\\n"
      case 0x0D: out += "\\r"
      case 0x09: out += "\\t"
      case 0x08: out += "\\b"
      case 0x0C: out += "\\f"
      case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(unit)!)
      default: out += String(format: "\\u%04x", unit)
      }
    }
    return out + "\""
  }

  /// A list of strings as `indent=2` writes it one level deep (`[]` when empty).
  static func list(_ items: [String]) -> String {
    items.isEmpty
      ? "[]" : "[\n" + items.map { "    " + quote($0) }.joined(separator: ",\n") + "\n  ]"
  }
}
