import ArgumentParser
import Foundation
import LoomCore
import LoomDatasets
import LoomGenerate
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTrain

/// `loom train mlm`: masked-LM pretraining from scratch (the seeds' wolfBERTa: a RoBERTa on
/// C sources) or continued from --model; with --nsp a `BertForPreTraining` (MLM + NSP).
/// The output directory holds the model and its tokenizer (AutoModelForMaskedLM /
/// AutoTokenizer load it).
struct TrainMLMCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mlm", abstract: "Pretrain an encoder (RoBERTa, BERT, DistilBERT) with masked language modelling.")

  @Option(name: .long, parsing: .upToNextOption, help: "Text files, one line per example before grouping.") var data: [String]
  @Option(help: "Tokenizer directory (tokenizer.json or vocab files; default with --model: the model's).") var tokenizer: String?
  @Option(help: "roberta, bert or distilbert (ignored with --model or --config).") var modelType = "roberta"
  @Option(help: "A config.json to build the model from.") var config: String?
  @Option(help: "Model shape: wolfberta (the seeds' RoBERTa, 84M), tiny, base (default: wolfberta).") var preset: String?
  @Option(help: "Fraction of tokens chosen for prediction (80 % masked, 10 % random, 10 % kept).") var mlmProbability = 0.15
  @Flag(help: "Also train next-sentence prediction (BertForPreTraining; --model-type bert). Sentences are lines, documents are separated by blank lines.")
  var nsp = false
  @Option(help: "Tokens per example (default: the tokenizer's model_max_length, at most the model's positions).")
  var maxSeqLength: Int?
  @Flag(help: "One example per line (truncated) instead of grouping the text into full blocks.") var lineByLine = false
  @Flag(help: "Mask whole words: all pieces of a word or none (WordPiece \"##\" pieces and byte-level tokens without \"Ġ\" continue a word).")
  var wholeWordMask = false
  @Option(
    name: .long, parsing: .upToNextOption,
    help: "Text files to evaluate on, prepared like --data (run_mlm.py's validation_file; default: --validation-split of --data).")
  var validationData: [String] = []
  @Option(help: "Fraction of examples held out for evaluation when --validation-data is not given (0 = none).")
  var validationSplit = 0.05
  @OptionGroup var training: TrainingFlags
  @OptionGroup var adapter: PeftFlags

  /// The seeds' TrainingArguments: 10 epochs, batch 32, a checkpoint every 10,000 steps, two kept.
  static let defaults: TrainingArguments = {
    var a = TrainingArguments(outputDir: "")
    a.numTrainEpochs = 10
    a.perDeviceTrainBatchSize = 32
    a.saveSteps = 10_000
    a.saveTotalLimit = 2
    a.loggingSteps = 50
    a.evalStrategy = .epoch
    return a
  }()

  static let modelTypes = ["roberta", "bert", "distilbert"]

  /// Config fields of each preset (vocab_size from the tokenizer unless the preset fixes it).
  static func presetFields(_ name: String, modelType: String) throws -> [String: Any] {
    switch name {
    case "wolfberta":
      // RobertaConfig(vocab_size=52000, max_position_embeddings=514, num_attention_heads=12,
      // num_hidden_layers=6, type_vocab_size=1)
      return [
        "vocab_size": 52000, "max_position_embeddings": 514, "num_attention_heads": 12, "num_hidden_layers": 6,
        "type_vocab_size": 1,
      ]
    case "tiny":
      return modelType == "distilbert"
        ? ["dim": 64, "n_layers": 2, "n_heads": 2, "hidden_dim": 128, "max_position_embeddings": 130]
        : [
          "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
          "max_position_embeddings": 130, "type_vocab_size": modelType == "roberta" ? 1 : 2,
        ]
    case "base": return modelType == "roberta" ? ["max_position_embeddings": 514, "type_vocab_size": 1] : [:]
    default: throw ValidationError("--preset must be wolfberta, tiny or base, got '\(name)'")
    }
  }

  func validate() throws {
    if data.isEmpty { throw ValidationError("--data needs at least one text file") }
    if tokenizer == nil && training.model == nil { throw ValidationError("pass --tokenizer DIR (or --model DIR to continue pretraining)") }
    if !Self.modelTypes.contains(modelType) {
      throw ValidationError("--model-type must be roberta, bert or distilbert, got '\(modelType)'")
    }
    if config != nil && preset != nil { throw ValidationError("--config and --preset contradict each other: pick one") }
    if training.model != nil && (config != nil || preset != nil) {
      throw ValidationError("--model loads the model's own config.json: drop --config / --preset")
    }
    if let preset { _ = try Self.presetFields(preset, modelType: modelType) }
    if !(mlmProbability > 0 && mlmProbability < 1) {
      throw ValidationError("--mlm-probability must be in (0, 1), got \(mlmProbability)")
    }
    if nsp && modelType != "bert" && training.model == nil && config == nil {
      throw ValidationError("--nsp trains BertForPreTraining: pass --model-type bert")
    }
    if nsp && !validationData.isEmpty {
      throw ValidationError("--validation-data is not supported with --nsp yet: use --validation-split")
    }
    if let m = maxSeqLength, m < 8 { throw ValidationError("--max-seq-length must be at least 8, got \(m)") }
    if !(0..<1).contains(validationSplit) { throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)") }
    try training.validate(defaults: Self.defaults)
    try adapter.validate()
    try adapter.requirePretrained(training.model != nil, command: "loom train mlm")
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    var args = try training.arguments(defaults: Self.defaults)
    let device = try training.useDevice()
    let tokSource = tokenizer ?? training.model!
    let tok: Tokenizer
    do { tok = try Tokenizer.fromPretrained(tokSource) } catch {
      throw LoomError("--tokenizer \(tokSource): cannot load a tokenizer (\(error))")
    }
    guard let maskId = tok.maskTokenId else {
      throw LoomError("--tokenizer \(tokSource) has no mask token (<mask> / [MASK]); masked-LM training needs one")
    }
    let task: AutoTask = nsp ? .preTraining : .maskedLM
    manualSeed(args.seed)
    let module: Module
    if let dir = training.model {
      module = try EncoderLoading.autoLoad(task, dir)
    } else {
      module = try ModelRegistry.make(task, config: try modelConfig(tokenizer: tok))
    }
    guard let model = module as? any EncoderModel else { throw LoomError("\(type(of: module)) is not an encoder") }
    _ = model.to(device: device)
    // PEFT has no masked-LM task_type: a plain PeftModel (task_type null).
    let peft = try training.model.flatMap { try PeftTraining.apply(adapter, to: model, task: nil, base: $0) }
    let vocab = EncoderLoading.vocabSize(model) ?? tok.vocabSize
    try EncoderPipelineParts.checkVocabulary(
      tokenizerSize: tok.vocabSize, modelSize: vocab, modelName: training.model ?? "the model config")
    let maxLength = try EncoderLoading.maxLength(maxSeqLength, tokenizer: tok, model: model)
    let allLines = try Self.readLines(data, flag: "--data")
    let lines = allLines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    guard !lines.isEmpty else { throw LoomError("the --data files contain no text") }
    let evalLines = try Self.readLines(validationData, flag: "--validation-data")
    if !validationData.isEmpty && evalLines.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
      throw LoomError("the --validation-data files contain no text")
    }
    let types = EncoderLoading.takesTokenTypes(model)
    var features: [Features]
    if nsp {
      // HF's TextDatasetForNextSentencePrediction: documents of tokenised sentences.
      var documents: [[[Int]]] = [[]]
      for line in allLines {
        if line.trimmingCharacters(in: .whitespaces).isEmpty {
          if !documents[documents.count - 1].isEmpty { documents.append([]) }
        } else {
          documents[documents.count - 1].append(try tok.encode(line, addSpecialTokens: false).ids.map(Int.init))
        }
      }
      guard let cls = tok.clsTokenId, let sep = tok.sepTokenId else {
        throw LoomError("--nsp: the tokenizer has no [CLS] / [SEP] tokens")
      }
      features = try NextSentencePairs(blockSize: maxLength, clsTokenId: Int(cls), sepTokenId: Int(sep))
        .examples(documents: documents, seed: args.seed)
      for i in features.indices {
        features[i]["special_tokens_mask"] = features[i]["input_ids"]!.map { $0 == Int(cls) || $0 == Int(sep) ? 1 : 0 }
      }
    } else {
      features = try maskedLMFeatures(lines, tok: tok, maxLength: maxLength, tokenTypes: types)
    }
    var order = Array(features.indices)
    let shuffle = Generator(seed: args.seed)
    for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, shuffle.nextInt(below: i + 1)) }
    let heldOut = try maskedLMFeatures(
      evalLines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }, tok: tok, maxLength: maxLength,
      tokenTypes: types)
    let nEval =
      !validationData.isEmpty || validationSplit == 0 || features.count < 4
      ? 0 : max(1, Int(Double(features.count) * validationSplit))
    let specials = Set(tok.allSpecialIds.map(Int.init))
    // Words from the tokenizer's pieces (HF's DataCollatorForWholeWordMask).
    let continuation = wholeWordMask ? try CollatorIds(tok).continuationTokenIds : []
    func collator(seed: UInt64) throws -> any DataCollator {
      if wholeWordMask {
        return try DataCollatorForWholeWordMask(
          padTokenId: Int(tok.padTokenId ?? 0), maskTokenId: Int(maskId), vocabSize: tok.vocabSize,
          specialTokenIds: specials, continuationTokenIds: continuation, mlmProbability: mlmProbability, seed: seed)
      }
      return try DataCollatorForLanguageModeling(
        padTokenId: Int(tok.padTokenId ?? 0), maskTokenId: Int(maskId), vocabSize: tok.vocabSize,
        specialTokenIds: specials, mlmProbability: mlmProbability, seed: seed)
    }
    let trainSet = try CollatedDataset(examples: order[nEval...].map { features[$0] }, collator: collator(seed: args.seed))
    let evalExamples = validationData.isEmpty ? order[..<nEval].map { features[$0] } : heldOut
    let evalSet =
      evalExamples.isEmpty ? nil : try CollatedDataset(examples: evalExamples, collator: collator(seed: args.seed &+ 1))
    if evalSet == nil {
      args.evalStrategy = .no
      args.loadBestModelAtEnd = false
    }
    print(
      "loom train mlm: \(type(of: model)), \(model.parameterCount()) parameters, vocabulary \(vocab), max length \(maxLength)")
    print("data: \(lines.count) lines → \(features.count - nEval) training and \(evalExamples.count) evaluation examples")
    let trainer = Trainer(
      model: model, args: args, trainDataset: trainSet, evalDataset: evalSet,
      lossAndLogits: { b in
        let (loss, logits) = model.lossAndLogits(b.tensors, onlyLabelledLogits: true)
        return (LossOutput(loss: loss), logits)
      },
      saveModel: { m, dir in
        if let peft { try peft.saveCheckpoint(dir) } else { try m.savePretrained(to: dir) }
        try tok.savePretrained(dir)
      })
    trainer.isLanguageModel = true
    let state = try trainer.train()
    guard trainer.isWorldProcessZero() else { return }  // data parallel: rank 0 writes the results
    if let peft { try peft.saveFinal(args.outputDir) } else { try model.savePretrained(to: args.outputDir) }
    try tok.savePretrained(args.outputDir)
    if let plot = try LossPlot.write(history: state.logHistory, to: args.outputDir + "/loss.png") {
      print("loss plot: \(plot)")
    }
    print("model saved to \(args.outputDir)")
  }

  /// The lines of text files, a blank line after each file (a document boundary for --nsp).
  static func readLines(_ paths: [String], flag: String) throws -> [String] {
    var lines: [String] = []
    for path in paths {
      let d: Dataset
      do { d = try Dataset.loadText(path) } catch { throw LoomError("\(flag) \(path): \(error)") }
      lines += try d.strings("text") + [""]
    }
    return lines
  }

  /// Masked-LM examples: one truncated line each with --line-by-line, else the text grouped into full blocks.
  func maskedLMFeatures(_ lines: [String], tok: Tokenizer, maxLength: Int, tokenTypes: Bool) throws -> [Features] {
    if lines.isEmpty { return [] }
    let rows =
      lineByLine
      ? try tok(lines, truncation: .longestFirst, maxLength: maxLength).encodings
      : MaskedLMExamples.grouped(try tok(lines).encodings, blockSize: maxLength)
    return rows.map { e in
      var f: Features = ["input_ids": e.ids.map(Int.init), "special_tokens_mask": e.specialTokensMask.map(Int.init)]
      if tokenTypes { f["token_type_ids"] = [Int](repeating: 0, count: e.ids.count) }
      return f
    }
  }

  /// The new model's config: --config, else the preset, with the tokenizer's special ids.
  func modelConfig(tokenizer tok: Tokenizer) throws -> any PretrainedConfig {
    var fields: [String: Any]
    var type = modelType
    let source: String
    if let config {
      fields = try ConfigFile.object(at: config)
      type = fields["model_type"] as? String ?? modelType
      source = config
    } else {
      fields = try Self.presetFields(preset ?? "wolfberta", modelType: type)
      if fields["vocab_size"] == nil { fields["vocab_size"] = tok.vocabSize }
      source = "--preset \(preset ?? "wolfberta")"
    }
    if nsp && type != "bert" { throw LoomError("--nsp trains BertForPreTraining, but \(source) is model_type '\(type)'") }
    if let pad = tok.padTokenId, fields["pad_token_id"] == nil { fields["pad_token_id"] = Int(pad) }
    if type != "distilbert" {
      if let bos = tok.bosTokenId ?? tok.clsTokenId, fields["bos_token_id"] == nil { fields["bos_token_id"] = Int(bos) }
      if let eos = tok.eosTokenId ?? tok.sepTokenId, fields["eos_token_id"] == nil { fields["eos_token_id"] = Int(eos) }
    }
    return try ModelRegistry.config(modelType: type, fields: fields, source: source)
  }
}
