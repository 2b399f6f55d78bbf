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
  @Option(help: "Fraction of examples held out for evaluation (0 = none).") var validationSplit = 0.05
  @OptionGroup var training: TrainingFlags

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
    if let m = maxSeqLength, m < 8 { throw ValidationError("--max-seq-length must be at least 8, got \(m)") }
    if !(0..<1).contains(validationSplit) { throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)") }
    _ = try training.arguments(defaults: Self.defaults)
    _ = try training.parsedDevice()
    try training.checkModelDirectory()
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
    let vocab = EncoderLoading.vocabSize(model) ?? tok.vocabSize
    try EncoderPipelineParts.checkVocabulary(
      tokenizerSize: tok.vocabSize, modelSize: vocab, modelName: training.model ?? "the model config")
    let maxLength = try EncoderLoading.maxLength(maxSeqLength, tokenizer: tok, model: model)
    var allLines: [String] = []
    for path in data {
      let d: Dataset
      do { d = try Dataset.loadText(path) } catch { throw LoomError("--data \(path): \(error)") }
      allLines += try d.strings("text") + [""]
    }
    let lines = allLines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    guard !lines.isEmpty else { throw LoomError("the --data files contain no text") }
    var rows: [[Int]], special: [[Bool]]
    var typeIds: [[Int]]? = nil, nextSentence: [Int]? = nil
    if nsp {
      let (a, b, labels) = try SentencePairs.make(SentencePairs.documents(allLines), seed: args.seed)
      let enc = try tok(a, pairs: b, truncation: .longestFirst, maxLength: maxLength).encodings
      rows = enc.map { $0.ids.map(Int.init) }
      special = enc.map { $0.specialTokensMask.map { $0 != 0 } }
      typeIds = enc.map { $0.typeIds.map(Int.init) }
      nextSentence = labels
    } else if lineByLine {
      let enc = try tok(lines, truncation: .longestFirst, maxLength: maxLength).encodings
      rows = enc.map { $0.ids.map(Int.init) }
      special = enc.map { $0.specialTokensMask.map { $0 != 0 } }
    } else {
      (rows, special) = MaskedLMExamples.grouped(try tok(lines).encodings, blockSize: maxLength)
    }
    var order = Array(rows.indices)
    var g = SplitMix(args.seed)
    for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(g.next() % UInt64(i + 1))) }
    let nEval = validationSplit > 0 && rows.count >= 4 ? max(1, Int(Double(rows.count) * validationSplit)) : 0
    let masking = MLMMasking(probability: mlmProbability, maskTokenId: Int(maskId), vocabSize: tok.vocabSize, seed: args.seed)
    let types = EncoderLoading.takesTokenTypes(model)
    func examples(_ idx: ArraySlice<Int>, evalSet: Bool) -> MaskedLMExamples {
      MaskedLMExamples(
        rows: idx.map { rows[$0] }, special: idx.map { special[$0] }, padId: Int(tok.padTokenId ?? 0), tokenTypes: types,
        typeIds: typeIds.map { t in idx.map { t[$0] } }, nextSentenceLabels: nextSentence.map { l in idx.map { l[$0] } },
        mask: { ids, sp, epoch, indices in
          // Evaluation masks the same way every time, so eval_loss is comparable across epochs.
          masking(ids, sp, epoch: evalSet ? -1 : epoch, indices: indices)
        })
    }
    let trainSet = examples(order[nEval...], evalSet: false)
    let evalSet = nEval > 0 ? examples(order[..<nEval], evalSet: true) : nil
    if evalSet == nil {
      args.evalStrategy = .no
      args.loadBestModelAtEnd = false
    }
    print(
      "loom train mlm: \(type(of: model)), \(model.parameterCount()) parameters, vocabulary \(vocab), max length \(maxLength)")
    print("data: \(lines.count) lines → \(trainSet.count) training and \(evalSet?.count ?? 0) evaluation examples")
    let trainer = Trainer(
      model: model, args: args, trainDataset: trainSet, evalDataset: evalSet,
      lossAndLogits: { b in
        let (loss, logits) = model.lossAndLogits(b.tensors, onlyLabelledLogits: true)
        return (LossOutput(loss: loss), logits)
      },
      saveModel: { m, dir in
        try m.savePretrained(to: dir)
        try tok.savePretrained(dir)
      })
    trainer.isLanguageModel = true
    let state = try trainer.train()
    try model.savePretrained(to: args.outputDir)
    try tok.savePretrained(args.outputDir)
    if let plot = try LossPlot.write(history: state.logHistory, to: args.outputDir + "/loss.png") {
      print("loss plot: \(plot)")
    }
    print("model saved to \(args.outputDir)")
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
