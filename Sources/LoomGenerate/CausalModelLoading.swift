import Foundation
import LoomCore
import LoomModels
import LoomNN

extension Generation {
  /// Any causal LM of the Auto registry that generation knows the token defaults of
  /// (GPT-2, Llama, BLOOM), with the defaults transformers takes from its config.json.
  /// `dtype`: the model's parameters are built and loaded in it (`--torch-dtype`).
  public static func loadTextGenerationModel(
    from directory: String, dtype: DType = .float32, quantization: BitsAndBytesConfig? = nil,
    report: (QuantizationReport) -> Void = { _ in }
  ) throws -> (model: Module & CausalLanguageModel, defaults: GenerationConfig) {
    try checkModelType(directory: directory)
    let model = try AutoModelForCausalLM.from(
      directory: directory, dtype: dtype, quantization: quantization, report: report)
    if let gpt = model as? GPT2LMHeadModel {
      return (gpt, GenerationConfig(defaultsOf: gpt.config))
    }
    if let llama = model as? LlamaForCausalLM {
      return (llama, GenerationConfig(defaultsOf: llama.config))
    }
    if let bloom = model as? BloomForCausalLM {
      return (bloom, GenerationConfig(defaultsOf: bloom.config))
    }
    throw LoomError(
      "\(directory): \(type(of: model)) cannot run text generation in this Loom yet (GPT-2, Llama and BLOOM only)"
    )
  }
}

extension GenerationConfig {
  /// What `from_model_config` takes from a Llama config: eos (one or a list) and pad.
  public init(defaultsOf config: LlamaConfig) {
    self.init()
    eosTokenIds = config.eosTokenIds
    padTokenId = config.padTokenId
  }
}

extension TextCodec {
  /// A prompt's ids as transformers' text-generation pipeline encodes them: with the
  /// tokenizer's special tokens (a Llama tokenizer's leading `<s>`; GPT-2's add none).
  public func encodePrompt(_ text: String) throws -> [Int] {
    switch self {
    case .hf(let t): return try t.encode(text, addSpecialTokens: true).ids.map(Int.init)
    case .chars: return try encode(text)
    }
  }
}
