import ArgumentParser
import Foundation
import LoomAdapt
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN

/// `loom generate`: text from a model directory, like HF's text-generation pipeline
/// (the prompt is included in the output), or for an encoder–decoder model (BART) like its
/// text2text-generation pipeline (the prompt is the encoder input; only the output is printed).
struct GenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract:
      "Generate text with a trained model (a causal model continues the prompt, printed with it; an encoder–decoder model prints its output for the prompt)."
  )

  @Option(help: "Model directory (config.json, model.safetensors and a tokenizer).") var model: String
  @Option(
    help:
      "Tokenizer instead of the model directory's: tokenizer.json, a directory with tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, or gpt2 (Loom's GPT-2 files)."
  ) var tokenizer: String?
  @Option(help: "Text to continue.") var prompt: String
  @Option(
    help: "LoRA or prompt-tuning adapter directory in PEFT's layout (adapter_config.json + adapter_model.safetensors, from PEFT or Loom) applied to --model (LoRA merged into its weights; a prompt goes in front of the input)."
  ) var adapter: String?
  // Flags left out take the model directory's generation_config.json values, then HF's defaults.
  @Option(parsing: .unconditional, help: "Tokens to generate (default 50, unless --max-length is given).")
  var maxNewTokens: Int?
  @Option(
    parsing: .unconditional,
    help: "Total length instead: prompt + new tokens (causal), or decoder tokens with the start token (encoder–decoder).")
  var maxLength: Int?
  @Option(parsing: .unconditional, help: "Minimum tokens before end-of-text is allowed (default 0).") var minNewTokens: Int?
  @Flag(inversion: .prefixedNo, help: "Sample instead of choosing the most likely token (default off).")
  var doSample: Bool?
  @Option(parsing: .unconditional, help: "Sampling temperature (default 1).") var temperature: Double?
  @Option(parsing: .unconditional, help: "Keep the K most likely tokens (0 = all; default 50).") var topK: Int?
  @Option(parsing: .unconditional, help: "Nucleus sampling mass (default 1).") var topP: Double?
  @Option(parsing: .unconditional, help: "Beams for beam search (default 1).") var numBeams: Int?
  @Option(parsing: .unconditional, help: "Beam length penalty (default 1).") var lengthPenalty: Double?
  @Flag(inversion: .prefixedNo, help: "Stop beam search when num_beams hypotheses are finished (default off).")
  var earlyStopping: Bool?
  @Option(parsing: .unconditional, help: "Block repeated n-grams of this size (default 0 = off).")
  var noRepeatNgramSize: Int?
  @Option(parsing: .unconditional, help: "Penalty for repeating tokens (> 1 discourages; default 1).")
  var repetitionPenalty: Double?
  @Option(parsing: .unconditional, help: "Sequences to return (default 1).") var numReturnSequences: Int?
  @Option(parsing: .unconditional, help: "Random seed for sampling.") var seed: UInt64?
  @Flag(help: "Print tokens as they are generated (one sequence).") var stream = false
  @Flag(help: "Past n_positions, keep generating over the last n_positions − 1 tokens instead of failing.")
  var slidingWindow = false
  @Option(help: "Device to run on: cpu or emulated.") var device = "cpu"
  @Option(help: "Safety cage file (JSON or YAML): the prompt and every candidate are validated; only a passing candidate is printed.")
  var cage: String?
  @Option(help: "With --cage: append one JSON line per validator verdict to this file.") var auditLog: String?
  @OptionGroup var quantization: QuantizationFlags
  @Option(
    name: .customLong("torch-dtype"),
    help: "Load and run the model in this dtype: auto (config.json's torch_dtype), float32, bfloat16 or float16 (default float32).")
  var torchDType = "float32"

  /// The flags over `defaults` (the model directory's generation settings); with neither
  /// max_new_tokens nor max_length anywhere, 50 new tokens.
  func settings(over defaults: GenerationConfig = GenerationConfig()) -> GenerationConfig {
    var g = defaults
    // HF: max_new_tokens wins over max_length; an explicit flag wins over the file.
    if maxNewTokens != nil || maxLength != nil {
      (g.maxNewTokens, g.maxLength) = (maxNewTokens, maxLength)
    }
    if g.maxNewTokens == nil && g.maxLength == nil { g.maxNewTokens = 50 }
    g.slidingWindow = slidingWindow
    if let v = minNewTokens { g.minNewTokens = v }
    if let v = doSample { g.doSample = v }
    if let v = temperature { g.temperature = v }
    if let v = topK { g.topK = v }
    if let v = topP { g.topP = v }
    if let v = numBeams { g.numBeams = v }
    if let v = lengthPenalty { g.lengthPenalty = v }
    if let v = earlyStopping { g.earlyStopping = v ? .enabled : .heuristic }
    if let v = noRepeatNgramSize { g.noRepeatNgramSize = v }
    if let v = repetitionPenalty { g.repetitionPenalty = v }
    if let v = numReturnSequences { g.numReturnSequences = v }
    g.seed = seed
    return g
  }

  /// A field as the user set it: its flag, or generation_config.json's key when the file
  /// set it and no flag did.
  func fieldName(_ field: String, file: GenerationConfigFile?) -> String {
    let flag = "--" + field.replacingOccurrences(of: "_", with: "-")
    let given: [String: Any?] = [
      "max_new_tokens": maxNewTokens, "max_length": maxLength, "min_new_tokens": minNewTokens, "do_sample": doSample,
      "temperature": temperature, "top_k": topK, "top_p": topP, "num_beams": numBeams, "length_penalty": lengthPenalty,
      "early_stopping": earlyStopping, "no_repeat_ngram_size": noRepeatNgramSize,
      "repetition_penalty": repetitionPenalty, "num_return_sequences": numReturnSequences,
    ]
    let flagGiven = given[field].map { $0 != nil } ?? true
    guard let file, file.keys.contains(field), !flagGiven else { return flag }
    return "\(file.path): field '\(field)'"
  }

  /// `settings(over:)` on the directory's defaults, checked across fields.
  func checkedSettings(over defaults: GenerationConfig, file: GenerationConfigFile?) throws -> GenerationConfig {
    let g = settings(over: defaults)
    do {
      try g.validate { fieldName($0, file: file) }
    } catch let e as LoomError {
      throw ValidationError(e.message)
    }
    return g
  }

  /// Every flag, checked before the model is read, in the flags' spelling.
  func validate() throws {
    if prompt.isEmpty { throw ValidationError("--prompt must not be empty") }
    do {
      // Each flag's range; checks across fields wait for the model's generation_config.json.
      let flagNames: (String) -> String = { "--" + $0.replacingOccurrences(of: "_", with: "-") }
      try settings().validateRanges(naming: flagNames)
      // ...unless there is no such file or the flags alone settle them.
      let hasFile = FileManager.default.fileExists(atPath: model + "/" + GenerationConfigFile.fileName)
      if !hasFile || numBeams.map({ $0 > 1 || doSample != nil }) == true && numReturnSequences != nil {
        try settings().validate(naming: flagNames)
      }
    } catch let e as LoomError {
      throw ValidationError(e.message)
    }
    do { _ = try Device(parsing: device) } catch { throw ValidationError("--device: \(error)") }
    if auditLog != nil && cage == nil { throw ValidationError("--audit-log needs --cage") }
    do { _ = try LoadingDType(parsing: torchDType) } catch { throw ValidationError("--torch-dtype: \(error)") }
  }

  func run() throws {
    let target = try Device(parsing: device)
    Device.default = target
    try Generation.checkModelType(directory: model, seq2seq: true)
    if cage != nil && Generation.isSeq2Seq(directory: model) {
      throw ValidationError("--cage works with causal language models in this Loom; \(model) is an encoder–decoder model")
    }
    if quantization.config != nil && Generation.isSeq2Seq(directory: model) {
      throw ValidationError("--load-in-8bit / --load-in-4bit work with causal language models in this Loom; \(model) is an encoder–decoder model")
    }
    if Generation.isSeq2Seq(directory: model) { return try runSeq2Seq() }
    // The cage's input validators see the raw prompt before anything is loaded or tokenized; the model sees the
    // prompt after their fixes.
    let checkedPrompt = try cage.map {
      try CagedGenerate.checkPrompt(self.prompt, cagePath: $0, auditLog: auditLog, modelName: model)
    }
    if checkedPrompt?.refrained == true { return }
    let prompt = checkedPrompt?.input.text ?? self.prompt
    // Without an adapter the weights are quantized as they are read (the float model never exists
    // whole); a LoRA adapter is merged into the float weights first, then those are quantized.
    let (base, modelDefaults) = try Generation.loadTextGenerationModel(
      from: model, dtype: try LoadingDType(parsing: torchDType).resolve(for: model),
      quantization: adapter == nil ? quantization.config : nil, report: QuantizationFlags.show)
    let lm = try Self.applying(adapter: adapter, to: base)
    if adapter != nil { try quantization.apply(to: lm) }
    lm.to(device: target)
    lm.eval()
    let codec = try TextCodec.load(tokenizer ?? model, modelVocabSize: lm.vocabularySize)
    let ids = try codec.encodePrompt(prompt)
    guard !ids.isEmpty else { throw ValidationError("the prompt encodes to no tokens") }
    if let bad = ids.first(where: { $0 >= lm.vocabularySize }) {
      throw ValidationError("the tokenizer gives id \(bad), outside the model's vocab_size \(lm.vocabularySize): is --tokenizer the model's?")
    }
    let (defaults, file) = try GenerationConfigFile.defaults(
      directory: model, model: modelDefaults)
    var g = try checkedSettings(over: defaults, file: file)
    // Checked before any work, in the flags' spelling.
    _ = try Generation.checkedMaxLength(
      promptLength: ids.count, config: g, maxPositions: lm.maxPositions,
      newTokensName: g.maxNewTokens == nil ? fieldName("max_length", file: file) : fieldName("max_new_tokens", file: file),
      slidingWindowName: "--sliding-window")
    if g.eosTokenIds.isEmpty, let eos = codec.eosTokenId, eos < lm.vocabularySize { g.eosTokenIds = [eos] }
    g.padTokenId = g.padTokenId ?? g.eosTokenIds.first
    g.suppressTokens = codec.unusedIds(modelVocabSize: lm.vocabularySize)
    if let checkedPrompt {
      return try CagedGenerate.run(
        lm, modelName: model, prompt: self.prompt, codec: codec, config: g, checked: checkedPrompt, stream: stream)
    }
    let streaming = stream && g.numBeams == 1 && g.numReturnSequences == 1
    var streamer = StreamPrinter(codec: codec)
    if streaming {
      print(prompt, terminator: "")
      fflush(stdout)
    }
    let outputs = try Generation.generate(lm, prompts: [ids], config: g) { _, token in
      if streaming { streamer.add(token) }
    }
    if streaming {
      streamer.finish()
      return
    }
    for (i, out) in outputs.enumerated() {
      if outputs.count > 1 { print("--- sequence \(i + 1) ---") }
      print(prompt + codec.decode(Generation.continuation(out, promptLength: ids.count, eosTokenIds: g.eosTokenIds)))
    }
  }
}

extension GenerateCommand {
  /// `--adapter DIR` by its adapter_config.json's `peft_type`: LoRA is merged into the weights;
  /// a prompt-tuning adapter wraps the model (its virtual tokens go in front of the prompt).
  static func applying(adapter: String?, to base: Module & CausalLanguageModel) throws
    -> Module & CausalLanguageModel
  {
    guard let adapter else { return base }
    let configPath = adapter + "/adapter_config.json"
    let object = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))))
    if (object as? [String: Any])?["peft_type"] as? String == PeftType.promptTuning.rawValue {
      guard let embeddable = base as? Module & InputEmbeddingsCausalLM else {
        throw ValidationError(
          "--adapter \(adapter): a prompt-tuning adapter needs a model that takes input embeddings (GPT-2, Llama or BLOOM in this Loom); \(type(of: base)) does not")
      }
      return try PromptTuningCausalLM.fromPretrained(base: embeddable, adapterDirectory: adapter)
    }
    _ = try PeftModel.load(base, from: adapter).mergeAndUnload()
    return base
  }

  /// `--adapter DIR` on an encoder–decoder model: LoRA is merged into the weights; a SEQ_2_SEQ_LM
  /// prompt-tuning adapter wraps the model (its virtual tokens go in front of the encoder's input).
  static func applying(adapter: String?, toSeq2Seq base: Module & EncoderDecoderModel) throws
    -> Module & EncoderDecoderModel
  {
    guard let adapter else { return base }
    if InferenceAdapter.isPromptTuning(adapter) {
      guard let embeddable = base as? Module & InputEmbeddingsSeq2SeqLM else {
        throw ValidationError(
          "--adapter \(adapter): a prompt-tuning adapter needs an encoder that takes input embeddings (BART, T5 or Switch Transformers in this Loom); \(type(of: base)) does not")
      }
      return try PromptTuningSeq2SeqLM.fromPretrained(base: embeddable, adapterDirectory: adapter)
    }
    _ = try PeftModel.load(base, from: adapter).mergeAndUnload()
    return base
  }
}
