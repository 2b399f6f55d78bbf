import Foundation
import LoomCore
import LoomModels
import LoomNN

/// PEFT's `get_peft_model`: freezes `model`, wraps the layers `config` targets in place
/// with LoRA layers for `adapterName`, and makes the adapter (and the biases and
/// modules_to_save the config asks for) trainable.
public func getPeftModel(
  _ model: Module, _ config: LoraConfig, adapterName: String = "default", modelType: String? = nil,
  generator: Generator = .global
) throws -> PeftModel {
  let peft = PeftModel(model, modelType: modelType)
  model.freeze()
  try peft.addAdapter(adapterName, config, generator: generator)
  try peft.setAdapter(adapterName)
  return peft
}

/// A base model with LoRA adapters (PEFT's `PeftModel` / `LoraModel`). `model` is the base
/// itself, changed in place: call it, train it and save it as before; this object adds
/// the adapter operations.
public final class PeftModel {
  public let model: Module
  /// config.json's model_type (picks the default target modules).
  public let modelType: String?
  public private(set) var configs: [String: LoraConfig] = [:]
  public private(set) var adapterNames: [String] = []
  public private(set) var activeAdapter = "default"
  /// modules_to_save paths → their parameters' values before training (PEFT's
  /// `original_module`; counted by `printTrainableParameters` as PEFT counts its copy).
  var originalModules: [String: [String: Tensor]] = [:]
  /// Their trained values while the adapter is disabled.
  var trainedModules: [String: [String: Tensor]]?

  init(_ model: Module, modelType: String?) {
    self.model = model
    self.modelType = modelType ?? (model as? any PretrainedModel)?.modelType
  }

  /// Every LoRA layer with its path.
  public var loraLayers: [(path: String, layer: any LoraLayer)] {
    model.namedModules().compactMap { path, m in (m as? any LoraLayer).map { (path, $0) } }
  }

  /// Adds adapter `name` to the layers `config` targets (PEFT's `add_adapter`); it trains
  /// and runs once `setAdapter(name)` makes it the active one.
  public func addAdapter(_ name: String, _ config: LoraConfig, generator: Generator = .global)
    throws
  {
    guard !configs.keys.contains(name) else {
      throw PeftError(
        "adapter '\(name)' already exists; pick another name or load into a new base model")
    }
    guard !name.isEmpty, !name.contains(".") else {
      throw PeftError("adapter name '\(name)' must be non-empty and contain no '.'")
    }
    try config.validate()
    var config = config
    if let task = config.taskType, task == .sequenceClassification || task == .tokenClassification {
      // PEFT trains and saves a classification head with the adapter.
      var names = config.modulesToSave ?? []
      for head in ["classifier", "score"] where !names.contains(head) { names.append(head) }
      config.modulesToSave = names
    }
    let targets = try resolvedTargets(config)
    // PEFT writes the model type's default targets into adapter_config.json once resolved.
    config.targetModules = targets
    let paths = targetPaths(targets, config: config)
    guard !paths.isEmpty else {
      let layerNames = Set(
        model.namedModules().filter { $0.1 is Linear || $0.1 is Conv1D || $0.1 is Embedding }
          .compactMap { $0.0.split(separator: ".").last.map(String.init) }
      ).sorted()
      throw PeftError(
        "LoRA: target modules \(targets.json.text().replacingOccurrences(of: "\n", with: "")) "
          + "match no layer of this \(modelType ?? "\(type(of: model))") model"
          + (config.layersToTransform.map { " in layers \($0)" } ?? "")
          + "; its Linear/Conv1D/Embedding layers are named: \(layerNames.joined(separator: ", ")). "
          + "Set target_modules to some of these names (or \"all-linear\").")
    }
    for path in paths {
      let module = model.module(at: path)!
      let (r, alpha) = config.rankAndAlpha(for: path)
      let layer: any LoraLayer
      if let existing = module as? any LoraLayer {
        layer = existing
      } else if let linear = module as? Linear {
        layer = LoraLinear(wrapping: linear, generator: generator)
      } else if let conv = module as? Conv1D {
        layer = LoraConv1D(wrapping: conv, generator: generator)
      } else if let embedding = module as? Embedding {
        layer = LoraEmbedding(wrapping: embedding, generator: generator)
      } else {
        throw PeftError(
          "LoRA: target module '\(path)' is a \(type(of: module)); only Linear, Conv1D and Embedding layers "
            + "can be adapted — name the layers inside it in target_modules")
      }
      layer.addAdapter(
        name, r: r, alpha: alpha, dropout: config.loraDropout, rslora: config.useRslora,
        initialization: config.initLoraWeights, generator: generator)
      for (_, t) in layer.factors(name) { t.requiresGrad = false }
      if !(module is any LoraLayer) { try model.replaceModule(at: path, with: layer) }
    }
    for name in config.modulesToSave ?? [] {
      for (path, module) in model.namedModules() where path == name || path.hasSuffix("." + name) {
        guard originalModules[path] == nil else { continue }
        originalModules[path] = Dictionary(
          uniqueKeysWithValues: module.namedParameters().map { ($0.0, $0.1.detach().clone()) })
      }
    }
    configs[name] = config
    adapterNames.append(name)
  }

  /// Makes `name` the adapter every layer runs and trains (PEFT's `set_adapter`): its
  /// factors, and the biases and modules_to_save its config names, require gradients;
  /// other adapters' factors are frozen.
  public func setAdapter(_ name: String) throws {
    guard let config = configs[name] else {
      throw PeftError("no adapter named '\(name)'; this model has \(adapterNames)")
    }
    for (_, layer) in loraLayers {
      layer.lora.active = layer.lora.names.contains(name) ? [name] : []
      for other in layer.lora.names {
        for (_, t) in layer.factors(other) {
          t.requiresGrad = other == name && !config.inferenceMode
        }
      }
    }
    activeAdapter = name
    guard !config.inferenceMode else { return }
    for (_, t) in trainableExtras(config) { t.requiresGrad = true }
  }

  /// Biases (as `bias` says) and modules_to_save parameters, by their paths in `model`.
  func trainableExtras(_ config: LoraConfig) -> [(String, Tensor)] {
    var out: [(String, Tensor)] = []
    let loraPaths = Set(loraLayers.map(\.path))
    for (name, t) in model.namedParameters() where !name.contains("lora_") {
      let owner = name.split(separator: ".").dropLast().joined(separator: ".")
      let isBias = name.hasSuffix("bias")
      switch config.bias {
      case .all where isBias: out.append((name, t))
      case .loraOnly where isBias && loraPaths.contains(owner): out.append((name, t))
      default:
        if originalModules.keys.contains(where: { name.hasPrefix($0 + ".") }) {
          out.append((name, t))
        }
      }
    }
    return out
  }

  /// PEFT's `get_nb_trainable_parameters`: modules_to_save count twice (PEFT keeps the
  /// original next to the trained copy).
  public var trainableParameterCounts: (trainable: Int, all: Int) {
    let params = model.parameters()
    let trainable = params.filter(\.requiresGrad).reduce(0) { $0 + $1.count }
    let copies = originalModules.values.flatMap(\.values).reduce(0) { $0 + $1.count }
    return (trainable, params.reduce(0) { $0 + $1.count } + copies)
  }

  /// PEFT's `print_trainable_parameters` line.
  public var trainableParametersDescription: String {
    let (trainable, all) = trainableParameterCounts
    let percent = String(format: "%.4f", 100 * Double(trainable) / Double(max(all, 1)))
    return
      "trainable params: \(grouped(trainable)) || all params: \(grouped(all)) || trainable%: \(percent)"
  }

  public func printTrainableParameters() { print(trainableParametersDescription) }

  /// Runs the base model alone (DPO's reference model): every LoRA layer skips its update.
  /// modules_to_save run with their original values too, as PEFT's wrapper does.
  public func disableAdapter() {
    for (_, layer) in loraLayers { layer.lora.disabled = true }
    guard trainedModules == nil else { return }
    trainedModules = swapModulesToSave(with: originalModules)
  }

  public func enableAdapter() {
    for (_, layer) in loraLayers { layer.lora.disabled = false }
    guard let trained = trainedModules else { return }
    _ = swapModulesToSave(with: trained)
    trainedModules = nil
  }

  /// Copies `values` into the modules_to_save parameters; returns what they held.
  private func swapModulesToSave(with values: [String: [String: Tensor]]) -> [String: [String:
    Tensor]]
  {
    var previous: [String: [String: Tensor]] = [:]
    for (path, params) in values {
      guard let module = model.module(at: path) else { continue }
      for (name, t) in module.namedParameters() {
        guard let v = params[name] else { continue }
        previous[path, default: [:]][name] = t.detach().clone()
        noGrad { t.copyIn(v) }
      }
    }
    return previous
  }

  /// `body` with the adapters off, then back on (PEFT's `with model.disable_adapter():`).
  public func withAdapterDisabled<R>(_ body: () throws -> R) rethrows -> R {
    disableAdapter()
    defer { enableAdapter() }
    return try body()
  }

  /// Adds the active adapter's update into each base weight (the forward then skips it).
  public func merge() { for (_, layer) in loraLayers { layer.merge() } }

  /// Restores the base weights from before `merge()`, exactly.
  public func unmerge() { for (_, layer) in loraLayers { layer.unmerge() } }

  /// PEFT's `merge_and_unload`: merges the active adapter and puts plain layers back, so
  /// `model` is an ordinary model again (same checkpoint names, no LoRA tensors).
  @discardableResult
  public func mergeAndUnload() throws -> Module {
    for (path, layer) in loraLayers {
      layer.unmerge()
      layer.merge(keepOriginal: false)
      try model.replaceModule(at: path, with: layer.baseLayer())
    }
    return model
  }

  private func resolvedTargets(_ config: LoraConfig) throws -> LoraTargetModules {
    if let t = config.targetModules { return t }
    guard let type = modelType, let names = LoraConfig.defaultTargetModules[type] else {
      throw PeftError(
        "LoRA: no default target_modules for model_type '\(modelType ?? "unknown")'; set target_modules "
          + "(layer names, a regex or \"all-linear\"). Defaults exist for: "
          + LoraConfig.defaultTargetModules.keys.sorted().joined(separator: ", "))
    }
    return .names(names)
  }

  /// Paths of the modules to wrap, PEFT's `_check_target_module_exists` for each module.
  private func targetPaths(_ targets: LoraTargetModules, config: LoraConfig) -> [String] {
    let heads: Set<String> = ["lm_head", "classifier", "score"]
    let saved = config.modulesToSave ?? []
    return model.namedModules().compactMap { path, module in
      guard !path.isEmpty, !path.split(separator: ".").contains(where: { $0.hasPrefix("lora_") })
      else {
        return nil
      }
      if saved.contains(where: { path == $0 || path.hasSuffix("." + $0) }) { return nil }
      if targets == .allLinear {
        guard module is Linear || module is Conv1D, !heads.contains(path) else { return nil }
      } else if !targets.matches(path) {
        return nil
      }
      if let exclude = config.excludeModules, exclude.matches(path) { return nil }
      return config.layerSelected(path) ? path : nil
    }
  }
}

/// 1234567 → "1,234,567" (Python's `{:,d}`).
func grouped(_ n: Int) -> String {
  let digits = Array(String(abs(n)))
  var out = ""
  for (i, d) in digits.enumerated() {
    if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
    out.append(d)
  }
  return (n < 0 ? "-" : "") + out
}
