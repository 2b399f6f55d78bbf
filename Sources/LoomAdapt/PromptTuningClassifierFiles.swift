import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN

/// PEFT's files for a SEQ_CLS, TOKEN_CLS or QUESTION_ANS prompt-tuning adapter: adapter_config.json and
/// adapter_model.safetensors with `prompt_embeddings` and the trained heads under PEFT's names
/// (`base_model.classifier.weight`, …: the modules_to_save wrapper's names with it removed).
extension PromptTuningSequenceClassifier {
  /// `save_pretrained` into `directory` (created when missing), each file written atomically.
  public func saveAdapter(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var config = peftConfig
    config.inferenceMode = true
    let dir = directory as NSString
    try AtomicFile.write(
      Data(config.jsonText().utf8),
      to: dir.appendingPathComponent(PromptTuningCausalLM.configFile))
    var tensors = noGrad {
      [PromptTuningCausalLM.tensorName: prompt.embedding.weight.to(.float32).contiguous()]
    }
    for (name, t) in headParameters {
      tensors["base_model." + name] = noGrad { t.to(.float32).contiguous() }
    }
    try SafeTensors.save(
      tensors, metadata: ["format": "pt"],
      to: dir.appendingPathComponent(PromptTuningCausalLM.weightsFile))
  }

  /// `PeftModel.from_pretrained(base, directory)` for a `task` prompt-tuning adapter (PEFT's or
  /// Loom's): the prompt and the saved heads, checked against the base. They train when
  /// `isTrainable`; the rest of the base stays frozen.
  public static func fromPretrained(
    base: Module & EncoderModel & InputEmbeddingsModel, adapterDirectory directory: String,
    task: PeftTaskType = .sequenceClassification, isTrainable: Bool = false
  ) throws -> PromptTuningSequenceClassifier {
    var config = try PromptTuningConfig.load(directory: directory)
    config.inferenceMode = true  // no initialisation: the weights come from the file
    let configPath = "\(directory)/\(PromptTuningCausalLM.configFile)"
    let model: PromptTuningSequenceClassifier
    do { model = try PromptTuningSequenceClassifier(base: base, config: config, task: task) } catch let e
      as PromptTuningError
    {
      throw PromptTuningError("\(configPath): \(e.message)")
    }
    let path = (directory as NSString).appendingPathComponent(PromptTuningCausalLM.weightsFile)
    let file = try SafeTensorsFile(path: path)
    let weight = model.prompt.embedding.weight
    try PromptTuningCausalLM.loadPrompt(
      from: file, path: path, into: weight,
      expected: [model.peftConfig.totalVirtualTokens, model.peftConfig.tokenDim!])
    let heads = Dictionary(uniqueKeysWithValues: model.headParameters)
    for name in file.names where name != PromptTuningCausalLM.tensorName {
      let key = name.hasPrefix("base_model.") ? String(name.dropFirst("base_model.".count)) : name
      guard let target = heads[key] else {
        throw PromptTuningError(
          "\(path): tensor \"\(name)\" is not a modules_to_save parameter of this \(type(of: base)) (those are \(heads.keys.sorted().map { "base_model." + $0 })); the adapter was made for another base"
        )
      }
      let t = try file.tensor(name, device: target.device)
      guard t.shape == target.shape else {
        throw PromptTuningError(
          "\(path): \(name) has shape \(t.shape) but the base model's is \(target.shape); the adapter was made for another base (base_model_name_or_path: \(config.baseModelNameOrPath ?? "null"))"
        )
      }
      noGrad { target.copyIn(t.to(target.dtype)) }
    }
    weight.requiresGrad = isTrainable
    for (_, t) in model.headParameters { t.requiresGrad = isTrainable }
    model.peftConfig.inferenceMode = !isTrainable
    return model
  }
}
