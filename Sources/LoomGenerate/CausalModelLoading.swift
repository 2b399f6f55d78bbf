import Foundation
import LoomCore
import LoomModels
import LoomNN

extension Generation {
  /// Any causal LM the Auto registry loads (GPT-2, BLOOM) with the generation defaults
  /// transformers takes from its config.json (before generation_config.json).
  public static func loadCausalLM(from directory: String) throws -> (
    model: Module & CausalLanguageModel, defaults: GenerationConfig
  ) {
    try checkModelType(directory: directory)
    let model = try AutoModelForCausalLM.from(directory: directory)
    if let gpt = model as? GPT2LMHeadModel {
      return (gpt, GenerationConfig(defaultsOf: gpt.config))
    }
    if let bloom = model as? BloomForCausalLM {
      return (bloom, GenerationConfig(defaultsOf: bloom.config))
    }
    throw LoomError(
      "\(directory): \(type(of: model)) cannot run text generation in this Loom yet (GPT-2 and BLOOM)"
    )
  }
}
