import Foundation
import LoomCore
import LoomIO
import LoomNN

/// Loading and saving Hugging Face model directories (config.json + model.safetensors).
extension GPT2LMHeadModel {
  /// Loads a directory written by `save_pretrained` (or by `save(to:)`).
  public static func load(from directory: String) throws -> GPT2LMHeadModel {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
      throw LoomError("model directory \(directory) does not exist")
    }
    let configPath = directory + "/config.json"
    guard let data = fm.contents(atPath: configPath) else {
      throw LoomError("\(configPath) is missing: a model directory needs config.json and model.safetensors")
    }
    let config: GPT2Config
    do {
      config = try JSONDecoder().decode(GPT2Config.self, from: data)
    } catch {
      throw LoomError("\(configPath) is not a valid GPT-2 config: \(error)")
    }
    do { try config.validate() } catch { throw LoomError("\(configPath): \(error)") }
    let weightsPath = directory + "/model.safetensors"
    guard fm.fileExists(atPath: weightsPath) else {
      throw LoomError("\(weightsPath) is missing (only safetensors weights are supported)")
    }
    let model = try GPT2LMHeadModel(config)
    var weights = try SafeTensors.load(weightsPath)
    // HF may save with or without the "transformer." prefix (GPT2Model vs LMHead) and
    // with a redundant tied lm_head.weight.
    if weights.keys.contains(where: { $0.hasPrefix("wte.") || $0.hasPrefix("h.") }) {
      var renamed: [String: Tensor] = [:]
      for (k, v) in weights { renamed[k.hasPrefix("lm_head.") ? k : "transformer." + k] = v }
      weights = renamed
    }
    weights["lm_head.weight"] = nil
    // Attention bias buffers of older checkpoints are not parameters.
    for k in weights.keys where k.hasSuffix(".attn.bias") || k.hasSuffix(".attn.masked_bias") {
      if weights[k]?.rank != 1 { weights[k] = nil }
    }
    do {
      try model.loadStateDict(weights, source: weightsPath)
    } catch let error as LoadStateDictError {
      throw LoomError("\(error)\n  (does config.json match the weights? n_embd \(config.nEmbd), n_layer \(config.nLayer), vocab_size \(config.vocabSize))")
    }
    return model
  }

  /// Writes config.json and model.safetensors (float32, HF names, tied lm_head omitted).
  public func save(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(config), to: directory + "/config.json")
    try SafeTensors.save(stateDict(), metadata: ["format": "pt"], to: directory + "/model.safetensors")
  }
}
