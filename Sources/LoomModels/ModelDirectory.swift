import Foundation
import LoomCore
import LoomIO
import LoomNN

/// The one loader of model directories: config.json, then model.safetensors or a
/// sharded model.safetensors.index.json, the family's key fix-ups and a strict check
/// whose errors name the file and the key.
public enum ModelDirectory {
  public static let weightsFile = "model.safetensors"
  public static let indexFile = "model.safetensors.index.json"

  static func requireDirectory(_ directory: String) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
      throw LoomError("model directory \(directory) does not exist")
    }
  }

  /// The config of `directory` as `C`, after checking that its `model_type` (when it
  /// has one) is one `Model` can load.
  static func config<C: PretrainedConfig>(_ type: C.Type, in directory: String, for model: String) throws -> C {
    try requireDirectory(directory)
    let path = directory + "/config.json"
    let object = try ConfigFile.object(at: path)
    if let modelType = object["model_type"] as? String {
      guard let family = ModelRegistry.family(modelType) else { throw ModelRegistry.unsupported(modelType, in: path) }
      guard family.classes.values.contains(where: { $0.architecture == model }) else {
        let names = family.classes.values.map(\.architecture).sorted().joined(separator: ", ")
        throw LoomError(
          "\(path) has model_type '\(modelType)', which \(model) cannot load (its classes: \(names)); use AutoModel.from(directory:)")
      }
    }
    return try ConfigFile.decode(C.self, at: path)
  }

  /// Before a model is built from `directory`: its config's sizes and parameter estimate must
  /// fit the weights (`WeightsSizeCheck`; token ids are exempt). Reads the safetensors headers only.
  static func checkConfig<C: PretrainedConfig>(_ config: C, against directory: String) throws {
    let shapes = try readWeights(in: directory).values.map(\.tensor.shape)
    let sizes = C.fields.filter { !$0.key.hasSuffix("_token_id") }.flatMap { f in
      f.integers(config).map { (key: f.key, value: $0) }
    }
    try WeightsSizeCheck.check(
      sizes: sizes, estimate: config.parameterEstimate, shapes: shapes, config: "\(directory)/config.json",
      summary: sizeSummary(config))
  }

  /// Every tensor of the directory's weights with the file it came from.
  public static func readWeights(in directory: String) throws -> [String: (tensor: Tensor, file: String)] {
    let fm = FileManager.default
    var out: [String: (tensor: Tensor, file: String)] = [:]
    if fm.fileExists(atPath: directory + "/" + weightsFile) {
      for (k, t) in try SafeTensors.load(directory + "/" + weightsFile) { out[k] = (t, weightsFile) }
      return out
    }
    let indexPath = directory + "/" + indexFile
    guard fm.fileExists(atPath: indexPath) else {
      let torchFile = ["pytorch_model.bin", "pytorch_model.bin.index.json"].first { fm.fileExists(atPath: directory + "/" + $0) }
      if let torchFile {
        throw LoomError(
          "\(directory) holds \(torchFile) (PyTorch pickle), which Loom does not read: save it with save_pretrained(safe_serialization=True) for model.safetensors")
      }
      throw LoomError("\(directory)/\(weightsFile) is missing (only safetensors weights are supported)")
    }
    let map = try weightMap(indexPath)
    for shard in Set(map.values).sorted() {
      let path = directory + "/" + shard
      guard fm.fileExists(atPath: path) else {
        let example = map.first { $0.value == shard }!.key
        throw LoomError("\(indexFile): weight_map puts \(example) in \(shard), which is missing from \(directory)")
      }
      let file = try SafeTensorsFile(path: path)
      for (name, t) in try file.tensors() { out[name] = (t, shard) }
    }
    for (name, shard) in map.sorted(by: { $0.key < $1.key }) where out[name]?.file != shard {
      throw LoomError("\(indexFile): weight_map puts \(name) in \(shard), but \(shard) has no such tensor")
    }
    return out
  }

  /// The index's weight_map (tensor name → shard file in the same directory).
  static func weightMap(_ path: String) throws -> [String: String] {
    let object = try ConfigFile.object(at: path)
    guard let map = object["weight_map"] as? [String: String], !map.isEmpty else {
      throw LoomError("\(path): weight_map must be a non-empty object of tensor name → shard file name")
    }
    for (name, shard) in map where shard.contains("/") || shard.hasPrefix(".") || !shard.hasSuffix(".safetensors") {
      throw LoomError("\(path): weight_map puts \(name) in '\(shard)', which is not a .safetensors file beside the index")
    }
    return map
  }

  /// Builds a model whose every weight is about to be read (strictly) from a directory: no random draws,
  /// parameters left empty until loaded (HF's meta-device construction), in the dtype of an enclosing
  /// `ParameterCreation` scope (`from_pretrained(torch_dtype=…)`) or float32. Loading GPT-2-small no longer
  /// spends seconds drawing 124M numbers it overwrites, nor moves the global generator.
  static func buildForLoading<M>(_ make: () throws -> M) throws -> M {
    try ParameterCreation.run(dtype: ParameterCreation.scope?.dtype ?? .float32, skippingInitialization: true, make)
  }

  /// Reads the directory's weights into `model` (in place), strictly.
  static func loadWeights<M: PretrainedModel>(into model: M, config: M.Config, from directory: String) throws {
    if model is any GenerativeModel { LoadedGenerationConfig.record(from: directory, for: model) }
    let read = try readWeights(in: directory)
    var weights = read.mapValues(\.tensor)
    var fileOf: [ObjectIdentifier: String] = [:]
    for (t, file) in read.values { fileOf[ObjectIdentifier(t)] = file }
    let sharded = Set(read.values.map(\.file)).count > 1 || read.values.first?.file != weightsFile
    let source = sharded ? indexFile : weightsFile

    M.fixUpCheckpoint(&weights, config: config)
    let expected = model.stateDict().mapValues(\.shape)
    // Tied copies go first, so the prefix rule never sees a head's redundant weight.
    for key in model.tiedWeightKeys { weights[key] = nil }
    weights = applyBasePrefix(M.baseModelPrefix, to: weights, expected: expected)
    for key in model.tiedWeightKeys { weights[key] = nil }

    func file(_ key: String) -> String { weights[key].flatMap { fileOf[ObjectIdentifier($0)] } ?? source }
    var missing: [String] = [], mismatched: [String] = []
    for (key, shape) in expected.sorted(by: { $0.key < $1.key }) {
      guard let t = weights[key] else {
        missing.append("\(source) has no \(key) (config.json implies \(shape))")
        continue
      }
      if t.shape != shape { mismatched.append("\(file(key)): \(key) has shape \(t.shape), config.json implies \(shape)") }
    }
    let unexpected = weights.keys.filter { expected[$0] == nil }.sorted().map { "\(file($0)): \($0) is not a weight of \(M.self)" }
    var lines: [String] = []
    for (title, items) in [("missing keys", missing), ("unexpected keys", unexpected), ("size mismatches", mismatched)]
    where !items.isEmpty {
      let shown = items.prefix(12).joined(separator: "; ") + (items.count > 12 ? "; …" : "")
      lines.append("  \(title) (\(items.count)): \(shown)")
    }
    guard lines.isEmpty else {
      throw LoomError(
        (["error loading \(directory) into \(M.self) (model_type '\(model.modelType)'):"] + lines
          + ["  (does config.json match the weights? \(sizeSummary(config)))"]).joined(separator: "\n"))
    }
    if let quantizing = QuantizedLoading.current {
      try QuantizedLoading.load(weights, into: model, session: quantizing, source: directory + "/" + source)
    } else {
      try model.loadStateDict(weights, source: directory + "/" + source, releasingMappedSources: true)
    }
  }

  /// HF's `base_model_prefix` rule: a head model reading a base checkpoint adds the
  /// prefix; a base model reading a head checkpoint keeps only the prefixed weights.
  static func applyBasePrefix(_ prefix: String, to weights: [String: Tensor], expected: [String: [Int]]) -> [String: Tensor] {
    guard !prefix.isEmpty else { return weights }
    let p = prefix + "."
    let modelHas = expected.keys.contains { $0.hasPrefix(p) }
    let fileHas = weights.keys.contains { $0.hasPrefix(p) }
    var out: [String: Tensor] = [:]
    if modelHas && !fileHas {
      for (k, v) in weights { out[expected[k] != nil ? k : p + k] = v }
    } else if !modelHas && fileHas {
      for (k, v) in weights where k.hasPrefix(p) { out[String(k.dropFirst(p.count))] = v }
    } else {
      return weights
    }
    return out
  }

  /// "n_embd 64, n_layer 2, …": the config's integer sizes, for mismatch hints.
  static func sizeSummary<C: PretrainedConfig>(_ config: C) -> String {
    C.fields.compactMap { f in
      f.key.hasSuffix("_token_id") ? nil : f.integer(config).map { "\(f.key) \($0)" }
    }.joined(separator: ", ")
  }
}
