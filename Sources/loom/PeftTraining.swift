import Foundation
import LoomAdapt
import LoomCore
import LoomIO
import LoomModels
import LoomNN

/// A `loom train …` run that trains an adapter: the base is frozen (the Trainer's optimizer
/// holds only what requires gradients), checkpoints keep the whole wrapped model (resume
/// and load-best reload it strictly) plus the adapter in PEFT's layout, and the output
/// directory gets the adapter — or, with --merge-adapter, the merged full model.
struct PeftTraining {
  let peft: PeftModel
  let merge: Bool

  /// Wraps `model` in place as `flags` ask (nil: full fine-tuning) and prints PEFT's
  /// trainable-parameters line. Target modules that match nothing are the library's error.
  static func apply(
    _ flags: PeftFlags, to model: Module, task: PeftTaskType?, base: String
  ) throws -> PeftTraining? {
    switch try flags.method(task: task, base: base) {
    case nil:
      return nil
    case .lora(var config):
      let modelType = (model as? any PretrainedModel)?.modelType
      // GPT-2's Conv1D stores [in, out]: PEFT needs fan_in_fan_out for it.
      if modelType == "gpt2" { config.fanInFanOut = true }
      let peft = try getPeftModel(model, config, modelType: modelType)
      peft.printTrainableParameters()
      return PeftTraining(peft: peft, merge: flags.mergeAdapter)
    case .promptTuning:
      // LoomAdapt's prompt tuning is PeftModelForCausalLM's (`loom train gpt`, see
      // `PromptTuningRun`), PeftModelForSeq2SeqLM's (`loom train seq2seq`) and the encoder heads'
      // (`loom train classify / token-classify / qa`, see `PromptTuningClassifyRun`); those
      // commands wrap before they get here.
      throw LoomError(
        "--prompt-tuning-virtual-tokens: prompt tuning trains causal language models (loom train gpt --model DIR), encoder–decoder LMs (loom train seq2seq --model DIR), classifiers, token classifiers and QA models (loom train classify / token-classify / qa) in this loom; use --lora-r R here"
      )
    }
  }

  /// A checkpoint: the wrapped model's full state (what the Trainer restores) and the adapter.
  func saveCheckpoint(_ directory: String) throws {
    try peft.model.savePretrained(to: directory)
    try peft.save(to: directory)
  }

  /// The end of training: the adapter in PEFT's layout, or the merged model with
  /// --merge-adapter (loadable by every command without --adapter). `labelsConfig` (the
  /// base's config.json with a run's new labels) is kept next to the adapter so inference
  /// with --adapter builds the same head.
  func saveFinal(_ directory: String, labelsConfig: [String: Any]? = nil) throws {
    if merge {
      try peft.mergeAndUnload()
      try peft.model.savePretrained(to: directory)
      return
    }
    try peft.save(to: directory)
    try Self.writeLabelsConfig(labelsConfig, to: directory)
  }

  /// config.json beside an adapter: the base's config with the run's labels.
  static func writeLabelsConfig(_ labelsConfig: [String: Any]?, to directory: String) throws {
    guard let labelsConfig else { return }
    let data = try JSONSerialization.data(
      withJSONObject: labelsConfig, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try AtomicFile.write(data, to: directory + "/config.json")
  }
}

/// `loom train classify / token-classify / qa --model DIR --prompt-tuning-virtual-tokens N
/// [--prompt-tuning-init-text T]`: PEFT's PeftModelForSequenceClassification /
/// …ForTokenClassification / …ForQuestionAnswering with prompt tuning; the prompt and the head
/// (PEFT's modules_to_save) train, the rest of the base is frozen.
enum PromptTuningClassifyRun {
  static func wrap(
    _ flags: PeftFlags, base: any EncoderModel, baseDirectory: String, tokenizer: String,
    task: PeftTaskType = .sequenceClassification, encode: @escaping (String) throws -> [Int]
  ) throws -> PromptTuningSequenceClassifier? {
    guard case .promptTuning(let n, let text)? = try flags.method(task: task, base: baseDirectory)
    else { return nil }
    guard let embeddable = base as? any Module & EncoderModel & InputEmbeddingsModel else {
      let bases =
        task == .sequenceClassification
        ? "a BERT, RoBERTa, DistilBERT, GPT-2, Llama or BLOOM base" : "a BERT, RoBERTa or DistilBERT base"
      throw LoomError(
        "--prompt-tuning-virtual-tokens: \(type(of: base)) cannot run from input embeddings, so prompt tuning cannot train it (\(task.rawValue)); use \(bases), or --lora-r R"
      )
    }
    var config = PromptTuningConfig(
      numVirtualTokens: n, promptTuningInit: text == nil ? .random : .text,
      promptTuningInitText: text, tokenizerNameOrPath: text == nil ? nil : tokenizer,
      taskType: task)
    config.baseModelNameOrPath = baseDirectory
    let model = try PromptTuningSequenceClassifier(
      base: embeddable, config: config, task: task, tokenize: encode)
    if let note = model.prompt.initNote { print(note) }
    // PEFT counts the head twice in all params (its modules_to_save wrapper keeps the original).
    let head = model.headParameters.reduce(0) { $0 + $1.1.count }
    let trainable = model.trainableParameters.reduce(0) { $0 + $1.count }
    let all = model.parameterCount() + head
    print(
      "trainable params: \(trainable.formatted()) || all params: \(all.formatted()) || trainable%: "
        + String(format: "%.4f", 100 * Double(trainable) / Double(all)))
    return model
  }
}

/// `loom train gpt --model DIR --prompt-tuning-virtual-tokens N [--prompt-tuning-init-text T]`:
/// PEFT's prompt tuning (TEXT init when a text is given, else RANDOM) on the frozen base; the
/// Trainer trains the wrapped model, whose only trainable tensor is the prompt.
enum PromptTuningRun {
  static func wrap(
    _ flags: PeftFlags, base: Module & InputEmbeddingsCausalLM, baseDirectory: String?,
    tokenizer: String?, encode: @escaping (String) throws -> [Int]
  ) throws -> PromptTuningCausalLM? {
    guard let baseDirectory,
      case .promptTuning(let n, let text)? = try flags.method(task: .causalLM, base: baseDirectory)
    else { return nil }
    var config = PromptTuningConfig(
      numVirtualTokens: n, promptTuningInit: text == nil ? .random : .text,
      promptTuningInitText: text,
      tokenizerNameOrPath: text == nil ? nil : tokenizer ?? baseDirectory, taskType: .causalLM)
    config.baseModelNameOrPath = baseDirectory
    let model = try PromptTuningCausalLM(base: base, config: config, tokenize: encode)
    if let note = model.prompt.initNote { print(note) }
    printTrainable(model.trainableParameters.reduce(0) { $0 + $1.count }, of: model.parameterCount())
    return model
  }

  /// `loom train seq2seq --model DIR --prompt-tuning-virtual-tokens N`: PEFT's SEQ_2_SEQ_LM prompt
  /// tuning (the prompt in front of the encoder's input) on a frozen BART, T5 or Switch base.
  static func wrapSeq2Seq(
    _ flags: PeftFlags, base: Module & Seq2SeqLanguageModel, baseDirectory: String?, tokenizer: String,
    encode: @escaping (String) throws -> [Int]
  ) throws -> PromptTuningSeq2SeqLM? {
    guard let baseDirectory,
      case .promptTuning(let n, let text)? = try flags.method(task: .seq2SeqLM, base: baseDirectory)
    else { return nil }
    guard let embeddable = base as? any Module & InputEmbeddingsSeq2SeqLM else {
      throw LoomError(
        "--prompt-tuning-virtual-tokens: \(type(of: base)) cannot run its encoder from input embeddings, so prompt tuning cannot train it; use a BART, T5 or Switch Transformers base, or --lora-r R"
      )
    }
    var config = PromptTuningConfig(
      numVirtualTokens: n, promptTuningInit: text == nil ? .random : .text, promptTuningInitText: text,
      tokenizerNameOrPath: text == nil ? nil : tokenizer, taskType: .seq2SeqLM)
    config.baseModelNameOrPath = baseDirectory
    let model = try PromptTuningSeq2SeqLM(base: embeddable, config: config, tokenize: encode)
    if let note = model.prompt.initNote { print(note) }
    printTrainable(model.trainableParameters.reduce(0) { $0 + $1.count }, of: model.parameterCount())
    return model
  }

  /// PEFT's `print_trainable_parameters` line.
  static func printTrainable(_ trainable: Int, of all: Int) {
    print(
      "trainable params: \(trainable.formatted()) || all params: \(all.formatted()) || trainable%: "
        + String(format: "%.4f", 100 * Double(trainable) / Double(all)))
  }
}
