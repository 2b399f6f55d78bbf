import Foundation
import LoomCore
import LoomIO
import LoomModels

extension Generation {
  /// Model types with a causal-LM class in the Auto registry (what text generation can run).
  public static var supportedModelTypes: [String] {
    ModelRegistry.supportedModelTypes.filter { ModelRegistry.family($0)?.classes[.causalLM] != nil }
  }

  /// Loads a model directory for text generation through `AutoModelForCausalLM`, after checking
  /// config.json's `model_type`, so that e.g. a BERT directory is named as unsupported instead of
  /// being read as GPT-2 with missing weights.
  public static func loadCausalLanguageModel(from directory: String) throws -> GPT2LMHeadModel {
    try checkModelType(directory: directory)
    let model = try AutoModelForCausalLM.from(directory: directory)
    guard let gpt = model as? GPT2LMHeadModel else {
      throw LoomError("\(directory): \(type(of: model)) cannot run text generation in this Loom yet (GPT-2 only)")
    }
    return gpt
  }

  /// Throws when config.json names a `model_type` generation cannot run; a missing
  /// file or field is left to the loader.
  public static func checkModelType(directory: String) throws {
    let path = directory + "/config.json"
    guard let data = try? FileInput.read(path, limit: ConfigFile.maxBytes),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let type = json["model_type"] as? String
    else { return }
    let supported = supportedModelTypes
    guard supported.contains(type) else {
      throw LoomError(
        "\(path): model_type '\(type)' is not supported for text generation (supported: \(supported.joined(separator: ", "))); pass a causal language model directory"
      )
    }
  }
}
