import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN

extension Generation {
  /// Model types with a causal-LM class in the Auto registry (what text generation can run).
  public static var supportedModelTypes: [String] {
    ModelRegistry.supportedModelTypes.filter { ModelRegistry.family($0)?.classes[.causalLM] != nil }
  }

  /// Loads a model directory for text generation through `AutoModelForCausalLM`, after checking
  /// config.json's `model_type`, so that e.g. a BERT directory is named as unsupported instead of
  /// being read as GPT-2 with missing weights.
  public static func loadCausalLanguageModel(
    from directory: String, dtype: DType = .float32, quantization: BitsAndBytesConfig? = nil,
    report: (QuantizationReport) -> Void = { _ in }
  ) throws -> GPT2LMHeadModel {
    try checkModelType(directory: directory)
    let model = try AutoModelForCausalLM.from(
      directory: directory, dtype: dtype, quantization: quantization, report: report)
    guard let gpt = model as? GPT2LMHeadModel else {
      throw LoomError("\(directory): \(type(of: model)) cannot run text generation in this Loom yet (GPT-2 only)")
    }
    return gpt
  }

  /// Model types with a seq2seq-LM class in the Auto registry (what text-to-text generation can run).
  public static var supportedSeq2SeqModelTypes: [String] {
    ModelRegistry.supportedModelTypes.filter { ModelRegistry.family($0)?.classes[.seq2seqLM] != nil }
  }

  /// Throws when config.json names a `model_type` generation cannot run; a missing
  /// file or field is left to the loader. `seq2seq` also accepts encoder–decoder types.
  public static func checkModelType(directory: String, seq2seq: Bool = false) throws {
    let path = directory + "/config.json"
    guard let type = modelType(directory: directory) else { return }
    let supported = supportedModelTypes
    let seq2seqTypes = seq2seq ? supportedSeq2SeqModelTypes : []
    guard supported.contains(type) || seq2seqTypes.contains(type) else {
      let also = seq2seq ? " nor for text-to-text generation (supported: \(seq2seqTypes.joined(separator: ", ")))" : ""
      throw LoomError(
        "\(path): model_type '\(type)' is not supported for text generation (supported: \(supported.joined(separator: ", ")))\(also); pass a causal\(seq2seq ? " or seq2seq" : "") language model directory"
      )
    }
  }

  /// Whether config.json names an encoder–decoder `model_type` (one with a seq2seq-LM head).
  public static func isSeq2Seq(directory: String) -> Bool {
    modelType(directory: directory).map { supportedSeq2SeqModelTypes.contains($0) } ?? false
  }

  static func modelType(directory: String) -> String? {
    guard let data = try? FileInput.read(directory + "/config.json", limit: ConfigFile.maxBytes),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    return json["model_type"] as? String
  }

  /// An encoder–decoder model for generation through `AutoModelForSeq2SeqLM`, with its
  /// generation defaults: generation_config.json's when the directory has one, else those
  /// transformers takes from config.json (eos, pad, forced BOS/EOS, decoder start).
  /// `dtype`: the model's parameters are built and loaded in it (`--torch-dtype`).
  public static func loadSeq2SeqLanguageModel(from directory: String, dtype: DType = .float32) throws -> (
    model: Module & EncoderDecoderModel, defaults: GenerationConfig
  ) {
    try checkModelType(directory: directory, seq2seq: true)
    let loaded = try AutoModelForSeq2SeqLM.from(directory: directory, dtype: dtype)
    let model: Module & EncoderDecoderModel
    let base: GenerationConfig
    if let t = loaded as? TransformerSeq2SeqLM {
      (model, base) = (t, GenerationConfig(defaultsOf: t.config))
    } else if let bart = loaded as? BartForConditionalGeneration {
      (model, base) = (bart, GenerationConfig(defaultsOf: bart.config))
    } else if let t5 = loaded as? T5ForConditionalGeneration {
      (model, base) = (t5, GenerationConfig(defaultsOf: t5.config))
    } else if let switchLM = loaded as? SwitchTransformersForConditionalGeneration {
      guard switchLM.config.decoderStartTokenId != nil || switchLM.config.bosTokenId != nil else {
        throw LoomError(
          "\(directory)/config.json: decoder_start_token_id is null and there is no bos_token_id; Switch Transformers start the decoder with the pad token: add \"decoder_start_token_id\": 0"
        )
      }
      (model, base) = (switchLM, GenerationConfig(defaultsOf: switchLM.config))
    } else {
      throw LoomError("\(directory): \(type(of: loaded)) cannot run text-to-text generation in this Loom yet (BART, T5, Switch Transformers and the original Transformer only)")
    }
    return (model, try GenerationConfigFile.defaults(directory: directory, model: base).config)
  }
}
