import Foundation
import LoomCore
import LoomIO
import LoomNN

/// A model built from a `PretrainedConfig` that loads and saves Hugging Face model
/// directories (config.json + model.safetensors). Families register their classes
/// in `ModelRegistry` so the Auto classes find them by `model_type`.
public protocol PretrainedModel: Module {
  associatedtype Config: PretrainedConfig
  var config: Config { get }
  /// A freshly initialised model (HF's `from_config`).
  static func make(config: Config) throws -> Module
  /// HF's class name, written to config.json's `architectures`.
  static var architecture: String { get }
  /// Written to config.json (defaults to the config's).
  var modelType: String { get }
  /// Names HF files may hold for weights this model shares with another parameter
  /// (HF's `_tied_weights_keys`): ignored on load, omitted on save.
  var tiedWeightKeys: [String] { get }
  /// HF's `base_model_prefix` ("transformer" for GPT-2): a head model loads a base
  /// model's checkpoint by adding it, a base model loads a head model's by dropping it.
  static var baseModelPrefix: String { get }
  /// Family-specific key fix-ups applied before the strict check (renames, old buffers).
  static func fixUpCheckpoint(_ weights: inout [String: Tensor], config: Config)
  /// Config keys not written for this model (e.g. image fields of an MLP VAE).
  static var unsavedConfigKeys: [String] { get }
}

extension PretrainedModel {
  public var modelType: String { Config.modelType }
  public var tiedWeightKeys: [String] { [] }
  public static var baseModelPrefix: String { "" }
  public static func fixUpCheckpoint(_ weights: inout [String: Tensor], config: Config) {}
  public static var unsavedConfigKeys: [String] { [] }

  /// Loads a directory written by `save_pretrained` or `savePretrained(to:)`; its
  /// `model_type` must be this family's.
  public static func fromPretrained(_ directory: String) throws -> Self {
    let config = try ModelDirectory.config(Config.self, in: directory, for: architecture)
    try ModelDirectory.checkConfig(config, against: directory)
    guard let model = try ModelDirectory.buildForLoading({ try make(config: config) }) as? Self else {
      throw LoomError("\(Self.self).make(config:) built another class")
    }
    try ModelDirectory.loadWeights(into: model, config: config, from: directory)
    return model
  }

  /// config.json's contents: the config's fields, `model_type` and `architectures`.
  func configJSON() throws -> Data {
    var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
    for key in Self.unsavedConfigKeys { object[key] = nil }
    object["model_type"] = modelType
    object["architectures"] = [Self.architecture]
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    return JSONFloats.writing(Config.floatOnlyKeys, in: data)
  }
}

extension Module {
  /// Writes the model into `directory` like HF's `save_pretrained`: model.safetensors
  /// (float tensors in their dtype, tied weights omitted) and, for a `PretrainedModel`,
  /// config.json with `model_type` and `architectures` (and generation_config.json when the
  /// model generates); each file is written atomically.
  public func savePretrained(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var weights = stateDict()
    let pretrained = self as? any PretrainedModel
    for key in pretrained?.tiedWeightKeys ?? [] { weights[key] = nil }
    try SafeTensors.save(weights, metadata: ["format": "pt"], to: directory + "/" + ModelDirectory.weightsFile)
    // A stale sharded save would otherwise shadow nothing but confuse readers.
    try? FileManager.default.removeItem(atPath: directory + "/" + ModelDirectory.indexFile)
    guard let pretrained else { return }
    let config = try pretrained.configJSON()
    try AtomicFile.write(config, to: directory + "/config.json")
    // Models that generate get HF's generation_config.json too (as `save_pretrained` writes
    // it): the one the model was loaded with, else one derived from config.json.
    if self is any GenerativeModel {
      let file = directory + "/" + GenerationConfigWriter.fileName
      if let loaded = LoadedGenerationConfig.object(for: self) {
        try AtomicFile.write(try GenerationConfigWriter.json(loaded: loaded), to: file)
      } else if let object = try JSONSerialization.jsonObject(with: config) as? [String: Any] {
        try AtomicFile.write(try GenerationConfigWriter.json(fromModelConfig: object), to: file)
      }
    }
  }
}
