import Foundation
import LoomCore
import LoomIO
import LoomNN

/// PEFT's adapter directories: adapter_config.json and adapter_model.safetensors with keys
/// `base_model.model.<path>.lora_A.weight` … (adapter name removed).
extension PeftModel {
  static let keyPrefix = "base_model.model."

  /// The tensors PEFT saves for adapter `name`, by PEFT's keys: the factors, biases as the
  /// config's `bias` says (a wrapped layer's under `base_layer.bias`), and modules_to_save.
  public func adapterTensors(_ name: String) -> [String: Tensor] {
    guard let config = configs[name] else { return [:] }
    var out: [String: Tensor] = [:]
    var loraPaths = Set<String>()
    for (path, layer) in loraLayers where layer.lora.names.contains(name) {
      loraPaths.insert(path)
      for (key, t) in layer.factors(name) { out[Self.keyPrefix + path + "." + key] = t }
      if config.bias == .loraOnly, let b = layer.baseBias {
        out[Self.keyPrefix + path + ".base_layer.bias"] = b
      }
    }
    if config.bias == .all {
      let allLora = Set(loraLayers.map(\.path))
      for (pname, t) in model.namedParameters()
      where pname.contains("bias") && !pname.contains("lora_") {
        let parts = pname.split(separator: ".")
        let owner = parts.dropLast().joined(separator: ".")
        let key = allLora.contains(owner) ? "\(owner).base_layer.\(parts.last!)" : pname
        out[Self.keyPrefix + key] = t
      }
    }
    for (path, originals) in originalModules {
      guard let module = model.module(at: path) else { continue }
      for (pname, t) in module.namedParameters() {
        out[Self.keyPrefix + path + "." + pname] = t
        // PEFT's "bias in key" rule also picks up the wrapper's two copies of a head's bias.
        if config.bias == .all && pname.contains("bias") {
          out[Self.keyPrefix + path + ".modules_to_save." + pname] = t
          if let o = originals[pname] {
            out[Self.keyPrefix + path + ".original_module." + pname] = o
          }
        }
      }
    }
    return out
  }

  /// Writes every adapter as PEFT's `save_pretrained` does: "default" into `directory`,
  /// any other adapter into `directory/<name>`.
  public func save(to directory: String, adapters: [String]? = nil) throws {
    for name in adapters ?? adapterNames {
      guard var config = configs[name] else {
        throw PeftError("no adapter named '\(name)' to save; this model has \(adapterNames)")
      }
      let dir = name == "default" ? directory : (directory as NSString).appendingPathComponent(name)
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      config.inferenceMode = true
      try AtomicFile.write(
        Data(config.json.text().utf8),
        to: (dir as NSString).appendingPathComponent("adapter_config.json"))
      try SafeTensors.save(
        adapterTensors(name).mapValues { $0.detach().contiguous() }, metadata: ["format": "pt"],
        to: (dir as NSString).appendingPathComponent("adapter_model.safetensors"))
    }
  }

  /// Reads adapter_config.json (LoRA only; clear errors for other peft_types and bad values).
  public static func config(in directory: String) throws -> LoraConfig {
    let path = (directory as NSString).appendingPathComponent("adapter_config.json")
    guard let data = FileManager.default.contents(atPath: path) else {
      throw PeftError(
        "no adapter_config.json in \(directory): a PEFT adapter directory holds adapter_config.json and "
          + "adapter_model.safetensors (written by PeftModel.save_pretrained or Loom's save(to:))")
    }
    do {
      // Parsed first so broken JSON says where (Foundation's detail), not a DecodingError dump.
      _ = try JSONInput.parse(data, path: path)
      return try JSONDecoder().decode(LoraConfig.self, from: data)
    } catch let error as PeftError {
      throw PeftError("\(path): \(error.message)")
    } catch let error as JSONInputError {
      throw PeftError(error.description)
    } catch let error as DecodingError {
      throw PeftError(
        "\(path): not a valid LoRA config: \(JSONInput.describe(error, decoding: LoraConfig.self, from: data))")
    } catch {
      throw PeftError("\(path): not a valid LoRA config (\(error))")
    }
  }

  /// PEFT's `PeftModel.from_pretrained(base, directory)`: wraps `base` as the saved config
  /// says and loads the saved tensors; frozen unless `isTrainable`.
  public static func load(
    _ base: Module, from directory: String, adapterName: String = "default",
    isTrainable: Bool = false,
    modelType: String? = nil
  ) throws -> PeftModel {
    var config = try Self.config(in: directory)
    config.inferenceMode = !isTrainable
    let peft = try getPeftModel(base, config, adapterName: adapterName, modelType: modelType)
    try peft.loadWeights(adapterName, from: directory)
    return peft
  }

  /// Adds another saved adapter under `adapterName` (PEFT's `load_adapter`); `setAdapter` activates it.
  public func loadAdapter(_ directory: String, adapterName: String, isTrainable: Bool = false)
    throws
  {
    var config = try Self.config(in: directory)
    config.inferenceMode = !isTrainable
    try addAdapter(adapterName, config)
    try loadWeights(adapterName, from: directory)
  }

  func loadWeights(_ name: String, from directory: String) throws {
    let path = (directory as NSString).appendingPathComponent("adapter_model.safetensors")
    guard FileManager.default.fileExists(atPath: path) else {
      let bin = (directory as NSString).appendingPathComponent("adapter_model.bin")
      throw PeftError(
        "no adapter_model.safetensors in \(directory)"
          + (FileManager.default.fileExists(atPath: bin)
            ? " (only adapter_model.bin: Loom reads safetensors; re-save with safe_serialization=True)"
            : ""))
    }
    let file = try SafeTensors.load(path)
    let targets = adapterTensors(name)
    let model = modelType ?? "\(type(of: self.model))"
    for key in file.keys.sorted() {
      guard let target = targets[key] else {
        let inner =
          key.hasPrefix(Self.keyPrefix) ? String(key.dropFirst(Self.keyPrefix.count)) : key
        throw PeftError(
          "\(path): tensor '\(key)' names '\(inner)', which this \(model) model with the adapter's "
            + "target_modules \(configs[name]!.targetModules.map { $0.json.text().replacingOccurrences(of: "\n", with: "") } ?? "(default)") does not have; "
            + "the adapter was made for a different base model")
      }
      let value = file[key]!
      guard value.shape == target.shape else {
        throw PeftError(
          "\(path): tensor '\(key)' has shape \(value.shape) but this \(model) model expects \(target.shape); "
            + "the adapter was made for a different base model (or another r)")
      }
      noGrad { target.copyIn(value.to(target.dtype)) }
    }
    let missing = targets.keys.filter { $0.contains("lora_") && file[$0] == nil }.sorted()
    guard missing.isEmpty else {
      throw PeftError(
        "\(path): no tensor for \(missing.prefix(4).joined(separator: ", "))\(missing.count > 4 ? " (\(missing.count) in all)" : ""); "
          + "the file does not match its adapter_config.json or this base model")
    }
  }
}
