import Foundation
import LoomCore
import LoomNN

extension ModelRegistry {
  /// HF's `AutoConfig.for_model(model_type, **fields)`: the family's config decoded from
  /// config.json-style fields (unset fields take HF's defaults), validated.
  public static func config(modelType: String, fields: [String: Any], source: String = "config") throws -> any PretrainedConfig {
    guard let family = family(modelType) else {
      throw LoomError("\(source): unknown model_type '\(modelType)' (known: \(supportedModelTypes.joined(separator: ", ")))")
    }
    var object = fields
    object["model_type"] = modelType
    let data = try JSONSerialization.data(withJSONObject: object)
    func decode<C: PretrainedConfig>(_ type: C.Type) throws -> any PretrainedConfig {
      let c = try ConfigFile.decode(C.self, from: data, path: source)
      try c.validate()
      return c
    }
    return try decode(family.configType)
  }

  /// HF's `AutoModelFor….from_config(config)`: `task`'s class of the config's family,
  /// freshly initialised.
  public static func make(_ task: AutoTask, config: any PretrainedConfig) throws -> Module {
    let type = Swift.type(of: config).modelType
    guard let cls = family(type)?.classes[task] else {
      throw LoomError("model_type '\(type)' has no \(task.rawValue) class in Loom")
    }
    return try cls.make(config)
  }
}

extension ModelRegistry {
  /// `task`'s Auto class loading `directory` (HF's `AutoModelFor….from_pretrained`), for
  /// callers that pick the task at run time (pipelines, the CLI).
  public static func loadModel(_ task: AutoTask, from directory: String) throws -> Module {
    try load(task, from: directory)
  }
}
