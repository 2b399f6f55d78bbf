import Foundation
import LoomCore
import LoomModels

extension Generation {
  /// Model types generation can load today (the Auto registry will replace this list).
  public static let supportedModelTypes = ["gpt2"]

  /// Loads a model directory for text generation, after checking config.json's
  /// `model_type` so that e.g. a BERT directory is named as unsupported instead of
  /// being read as GPT-2 with missing weights.
  public static func loadCausalLanguageModel(from directory: String) throws -> GPT2LMHeadModel {
    try checkModelType(directory: directory)
    return try GPT2LMHeadModel.load(from: directory)
  }

  /// Throws when config.json names a `model_type` generation cannot run; a missing
  /// file or field is left to the loader (Loom's older configs carry no model_type).
  public static func checkModelType(directory: String) throws {
    let path = directory + "/config.json"
    guard let data = FileManager.default.contents(atPath: path),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let type = json["model_type"] as? String
    else { return }
    guard supportedModelTypes.contains(type) else {
      let supported = supportedModelTypes.joined(separator: ", ")
      throw LoomError(
        "\(path): model_type '\(type)' is not supported for text generation (supported: \(supported)); pass a causal language model directory"
      )
    }
  }
}
