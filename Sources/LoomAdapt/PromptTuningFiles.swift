import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN

/// PEFT's files for a prompt-tuning adapter: adapter_config.json and adapter_model.safetensors
/// holding the one tensor `prompt_embeddings` [virtual tokens × submodules, token_dim].
extension PromptTuningCausalLM {
  static let weightsFile = "adapter_model.safetensors"
  static let configFile = "adapter_config.json"
  static let tensorName = "prompt_embeddings"

  /// `save_pretrained`: the config (inference_mode true, as PEFT saves it) and the prompt, each
  /// written atomically into `directory` (created when missing).
  public func saveAdapter(to directory: String) throws {
    try Self.writeAdapter(config: peftConfig, prompt: prompt.embedding.weight, to: directory)
  }

  /// adapter_config.json (with inference_mode true) and the one-tensor adapter_model.safetensors.
  static func writeAdapter(config: PromptTuningConfig, prompt: Tensor, to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var config = config
    config.inferenceMode = true
    let dir = directory as NSString
    try AtomicFile.write(
      Data(config.jsonText().utf8), to: dir.appendingPathComponent(Self.configFile))
    let weight = noGrad { prompt.to(.float32).contiguous() }
    try SafeTensors.save(
      [Self.tensorName: weight], metadata: ["format": "pt"],
      to: dir.appendingPathComponent(Self.weightsFile))
  }

  /// `PeftModel.from_pretrained(base, directory)`: the adapter PEFT (or Loom) saved, checked against
  /// the base. The prompt trains when `isTrainable`; the base stays frozen either way.
  public static func fromPretrained(
    base: Module & InputEmbeddingsCausalLM, adapterDirectory directory: String,
    isTrainable: Bool = false
  ) throws -> PromptTuningCausalLM {
    var config = try PromptTuningConfig.load(directory: directory)
    config.inferenceMode = true  // no initialisation: the weights come from the file
    let path = (directory as NSString).appendingPathComponent(weightsFile)
    let model: PromptTuningCausalLM
    do { model = try PromptTuningCausalLM(base: base, config: config) } catch let e
      as PromptTuningError
    {
      throw PromptTuningError("\(directory)/\(configFile): \(e.message)")
    }
    let file = try SafeTensorsFile(path: path)
    try loadPrompt(
      from: file, path: path, into: model.prompt.embedding.weight,
      expected: [model.peftConfig.totalVirtualTokens, model.peftConfig.tokenDim!])
    model.prompt.embedding.weight.requiresGrad = isTrainable
    model.peftConfig.inferenceMode = !isTrainable
    return model
  }

  /// Copies the file's `prompt_embeddings` into `weight` after checking it is there with `expected`'s shape.
  static func loadPrompt(from file: SafeTensorsFile, path: String, into weight: Tensor, expected: [Int])
    throws
  {
    guard file.names.contains(tensorName) else {
      throw PromptTuningError(
        "\(path): no tensor \"\(tensorName)\" (found \(file.names.sorted())); a prompt-tuning adapter saved by PEFT has it"
      )
    }
    let weights = try file.tensor(tensorName, device: weight.device)
    guard weights.shape == expected else {
      throw PromptTuningError(
        "\(path): \(tensorName) has shape \(weights.shape) but num_virtual_tokens × num_transformer_submodules, token_dim is \(expected); the files disagree or come from another base"
      )
    }
    noGrad { weight.copyIn(weights.to(weight.dtype)) }
  }
}
