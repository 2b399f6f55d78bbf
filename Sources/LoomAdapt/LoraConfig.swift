import Foundation
import LoomCore

/// Which modules LoRA wraps: PEFT's `target_modules` (and `exclude_modules`) as a list of
/// names (a module matches when its path is the name or ends with `.name`), a regex that
/// must match the whole path, or "all-linear" (every Linear / Conv1D but the output head).
public enum LoraTargetModules: Equatable, Sendable {
  case names([String])
  case regex(String)
  case allLinear

  /// PEFT's `check_target_module_exists` for one module path.
  func matches(_ path: String) -> Bool {
    switch self {
    case .names(let names): return names.contains { path == $0 || path.hasSuffix("." + $0) }
    case .regex(let pattern): return fullMatch(pattern, path)
    case .allLinear: return true
    }
  }

  var json: PeftJSON {
    switch self {
    case .names(let names): return .array(names.map { .string($0) })
    case .regex(let pattern): return .string(pattern)
    case .allLinear: return .string("all-linear")
    }
  }
}

/// How biases train and save (PEFT's `bias`): "none", "all" (every bias in the model),
/// "lora_only" (the biases of the wrapped layers).
public enum LoraBias: String, Codable, Sendable {
  case none
  case all
  case loraOnly = "lora_only"
}

/// PEFT's `init_lora_weights`: true = A kaiming-uniform (a = √5) and B zero, "gaussian" =
/// A normal(0, 1/r) and B zero, false = both random (an adapter that is not a no-op; tests).
public enum LoraInit: Equatable, Sendable {
  case kaiming
  case gaussian
  case random

  var json: PeftJSON {
    switch self {
    case .kaiming: return .bool(true)
    case .gaussian: return .string("gaussian")
    case .random: return .bool(false)
    }
  }
}

/// PEFT's `LoraConfig`: field names (in adapter_config.json) and defaults as PEFT 0.21 has them.
public struct LoraConfig: Equatable, Sendable {
  public var r = 8
  public var loraAlpha: Double = 8
  public var loraDropout: Double = 0
  /// nil: the model family's default (`LoraConfig.defaultTargetModules`).
  public var targetModules: LoraTargetModules?
  public var excludeModules: LoraTargetModules?
  public var bias = LoraBias.none
  /// True for layers that store weight [in, out] (GPT-2's Conv1D).
  public var fanInFanOut = false
  public var modulesToSave: [String]?
  /// Scaling alpha/√r instead of alpha/r.
  public var useRslora = false
  public var initLoraWeights = LoraInit.kaiming
  public var layersToTransform: [Int]?
  public var layersPattern: [String]?
  /// Per-module r and alpha, keyed by a regex matched against the path's tail.
  public var rankPattern: [String: Int] = [:]
  public var alphaPattern: [String: Double] = [:]
  public var taskType: PeftTaskType?
  public var baseModelNameOrPath: String?
  public var revision: String?
  public var inferenceMode = false
  public let peftType = PeftType.lora

  public init(
    r: Int = 8, loraAlpha: Double = 8, loraDropout: Double = 0,
    targetModules: LoraTargetModules? = nil,
    excludeModules: LoraTargetModules? = nil, bias: LoraBias = .none, fanInFanOut: Bool = false,
    modulesToSave: [String]? = nil, useRslora: Bool = false, initLoraWeights: LoraInit = .kaiming,
    layersToTransform: [Int]? = nil, layersPattern: [String]? = nil,
    rankPattern: [String: Int] = [:],
    alphaPattern: [String: Double] = [:], taskType: PeftTaskType? = nil,
    baseModelNameOrPath: String? = nil
  ) {
    self.r = r
    self.loraAlpha = loraAlpha
    self.loraDropout = loraDropout
    self.targetModules = targetModules
    self.excludeModules = excludeModules
    self.bias = bias
    self.fanInFanOut = fanInFanOut
    self.modulesToSave = modulesToSave
    self.useRslora = useRslora
    self.initLoraWeights = initLoraWeights
    self.layersToTransform = layersToTransform
    self.layersPattern = layersPattern
    self.rankPattern = rankPattern
    self.alphaPattern = alphaPattern
    self.taskType = taskType
    self.baseModelNameOrPath = baseModelNameOrPath
  }

  /// PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, by config.json's model_type.
  public static let defaultTargetModules: [String: [String]] = [
    "gpt2": ["c_attn"], "bert": ["query", "value"], "roberta": ["query", "value"],
    "xlm-roberta": ["query", "value"], "distilbert": ["q_lin", "v_lin"],
    "bart": ["q_proj", "v_proj"],
    "mbart": ["q_proj", "v_proj"], "t5": ["q", "v"], "mt5": ["q", "v"],
    "llama": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"], "opt": ["q_proj", "v_proj"], "bloom": ["query_key_value"],
    "gpt_neox": ["query_key_value"],
  ]

  /// Checks PEFT also rejects (r ≤ 0, dropout outside [0, 1), layers_pattern without layers).
  public func validate() throws {
    guard r > 0 else {
      throw PeftError(
        "LoraConfig: `r` should be a positive integer value but the value passed is \(r)")
    }
    guard (0..<1).contains(loraDropout) else {
      throw PeftError("LoraConfig: lora_dropout \(loraDropout) must be in [0, 1)")
    }
    for (pattern, rank) in rankPattern where rank <= 0 {
      throw PeftError(
        "LoraConfig: rank_pattern '\(pattern)' gives r \(rank); ranks must be positive")
    }
    if layersPattern != nil && layersToTransform == nil {
      throw PeftError(
        "LoraConfig: layers_pattern is only used with layers_to_transform; set both or neither")
    }
  }

  /// r and alpha for one module path (rank_pattern / alpha_pattern as PEFT's `get_pattern_key`).
  func rankAndAlpha(for path: String) -> (r: Int, alpha: Double) {
    let rank =
      rankPattern.keys.sorted().first { patternMatches($0, path) }.map { rankPattern[$0]! } ?? r
    let alpha =
      alphaPattern.keys.sorted().first { patternMatches($0, path) }.map { alphaPattern[$0]! }
      ?? loraAlpha
    return (rank, alpha)
  }

  /// layers_to_transform: the path's layer index (after `layers_pattern`, or any `name.N.`) must be listed.
  func layerSelected(_ path: String) -> Bool {
    guard let layers = layersToTransform else { return true }
    let names = layersPattern ?? ["[^.]*"]
    for name in names {
      if let index = firstCapture(#"^(?:.*\.)?"# + "(?:\(name))" + #"\.(\d+)\."#, path) {
        return layers.contains(Int(index) ?? -1)
      }
    }
    return false
  }
}

func fullMatch(_ pattern: String, _ text: String) -> Bool {
  guard let re = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return false }
  return re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
}

/// PEFT's `re.match(rf"(.*\.)?({key})$", path)`.
func patternMatches(_ pattern: String, _ path: String) -> Bool {
  fullMatch(#"(.*\.)?(?:"# + pattern + ")", path)
}

func firstCapture(_ pattern: String, _ text: String) -> String? {
  guard let re = try? NSRegularExpression(pattern: pattern),
    let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
    m.numberOfRanges > 1,
    let r = Range(m.range(at: 1), in: text)
  else { return nil }
  return String(text[r])
}

/// An adapter file or setting that Loom cannot use: says what, where and how to fix it.
public struct PeftError: Error, CustomStringConvertible, Equatable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
