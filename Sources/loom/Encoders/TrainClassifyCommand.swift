import ArgumentParser
import Foundation
import LoomCore
import LoomDatasets
import LoomGenerate
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTrain

/// `loom train classify`: fine-tunes an encoder for sequence classification (HF's run_glue /
/// the seeds' DistilBERT sentiment Trainer), evaluating accuracy and macro-F1 each epoch
/// and keeping the best epoch's weights.
struct TrainClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classify", abstract: "Fine-tune an encoder (BERT, RoBERTa, DistilBERT) to classify texts or text pairs.")

  @Option(help: "Training file: .csv, .tsv or .jsonl with a header / keys.") var data: String
  @Option(help: "Evaluation file in the same format (default: --validation-split of --data).") var validationData: String?
  @Option(help: "Test file in the same format, scored once after training (test_results.json).") var testData: String?
  @Option(help: "Fraction of --data held out for evaluation when --validation-data is not given (0 = none).")
  var validationSplit = 0.1
  @Option(help: "Column with the text.") var textColumn: String
  @Option(help: "Column with the second text of a pair (e.g. NLI's hypothesis).") var textPairColumn: String?
  @Option(help: "Column with the label (text or integer).") var labelColumn: String
  @Option(help: "Tokenizer directory instead of --model's.") var tokenizer: String?
  @Option(help: "Longer texts are truncated (default: the tokenizer's model_max_length, at most the model's positions).")
  var maxSeqLength: Int?
  @OptionGroup var training: TrainingFlags

  /// The seeds' fine-tuning setup, the most accurate epoch reloaded at the end.
  static let defaults = TrainingArguments.encoderFineTuning(metricForBestModel: "accuracy")

  func validate() throws {
    guard training.model != nil else { throw ValidationError("--model DIR is required: the pretrained encoder to fine-tune") }
    if !(0..<1).contains(validationSplit) { throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)") }
    if let m = maxSeqLength, m < 2 { throw ValidationError("--max-seq-length must be at least 2, got \(m)") }
    try training.validate(defaults: Self.defaults)
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    var args = try training.arguments(defaults: Self.defaults)
    let device = try training.useDevice()
    let modelDir = training.model!
    var train = try LabelledText.read(data, flag: "--data", textColumn: textColumn, pairColumn: textPairColumn, labelColumn: labelColumn)
    var eval: LabelledText?
    if let v = validationData {
      eval = try LabelledText.read(v, flag: "--validation-data", textColumn: textColumn, pairColumn: textPairColumn, labelColumn: labelColumn)
    } else if validationSplit > 0 {
      (train, eval) = Self.split(train, fraction: validationSplit, seed: args.seed)
    }
    // Labels: the model's own when it is already a classifier with named labels, else the training data's.
    let config = try EncoderLoading.configJSON(modelDir)
    let existing = (config["id2label"] as? [String: String]).map { m in (0..<m.count).map { m[String($0)] ?? "" } }
    let names: [String]
    if let existing, !existing.enumerated().allSatisfy({ $1 == "LABEL_\($0)" }) {
      names = existing
    } else {
      names = LabelledText.labelNames(train.labels)
    }
    guard names.count >= 2 else {
      throw LoomError("--data's label column '\(labelColumn)' has only one label (\(names.first ?? "")); a classifier needs at least two")
    }
    let trainLabels = try train.labelIds(names, source: "--data \(data)")
    let evalLabels = try eval?.labelIds(names, source: validationData.map { "--validation-data \($0)" } ?? "the validation split")
    let test = try testData.map {
      try LabelledText.read($0, flag: "--test-data", textColumn: textColumn, pairColumn: textPairColumn, labelColumn: labelColumn)
    }
    let testLabels = try test?.labelIds(names, source: "--test-data \(testData ?? "")")

    manualSeed(args.seed)
    let module = try EncoderLoading.load(
      .sequenceClassification, from: modelDir,
      edits: [
        "id2label": Dictionary(uniqueKeysWithValues: names.enumerated().map { (String($0), $1) }),
        "label2id": Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) }),
        "problem_type": "single_label_classification",
      ])
    guard let model = module as? any EncoderModel else { throw LoomError("\(modelDir): not an encoder") }
    _ = model.to(device: device)
    let tok = try EncoderLoading.tokenizer(tokenizer, model: modelDir, modelVocabSize: EncoderLoading.vocabSize(model))
    let maxLength = try EncoderLoading.maxLength(maxSeqLength, tokenizer: tok, model: model)
    let types = EncoderLoading.takesTokenTypes(model)
    let trainSet = try Self.encode(train, labels: trainLabels, tokenizer: tok, maxLength: maxLength, tokenTypes: types, name: "--data")
    let evalSet = try eval.map { try Self.encode($0, labels: evalLabels!, tokenizer: tok, maxLength: maxLength, tokenTypes: types, name: "validation") }
    if evalSet == nil {
      args.evalStrategy = .no
      args.loadBestModelAtEnd = false
    }
    print("loom train classify: \(type(of: model)) from \(modelDir), \(model.parameterCount()) parameters; labels \(names.joined(separator: ", "))")
    print("data: \(trainSet.count) training and \(evalSet?.count ?? 0) evaluation examples, max length \(maxLength)")
    let trainer = Trainer(
      model: model, args: args, trainDataset: trainSet, evalDataset: evalSet,
      lossAndLogits: { b in
        let (loss, logits) = model.lossAndLogits(b.tensors)
        return (LossOutput(loss: loss), logits)
      },
      computeMetrics: Self.metrics,
      saveModel: { m, dir in
        try m.savePretrained(to: dir)
        try tok.savePretrained(dir)
      })
    trainer.throughputUnit = .samples
    _ = try trainer.train()
    try model.savePretrained(to: args.outputDir)
    try tok.savePretrained(args.outputDir)
    if let test, let testLabels {
      let testSet = try Self.encode(test, labels: testLabels, tokenizer: tok, maxLength: maxLength, tokenTypes: types, name: "--test-data")
      let metrics = try trainer.predict(testSet).metrics
      let json = try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys])
      try json.write(to: URL(fileURLWithPath: args.outputDir + "/test_results.json"))
      print(String(format: "test: accuracy %.4f, macro-F1 %.4f", metrics["test_accuracy"] ?? .nan, metrics["test_f1"] ?? .nan))
    }
    print("model saved to \(args.outputDir)")
  }

  /// HF's compute_metrics for classification: accuracy and macro-F1 of the argmax.
  static func metrics(_ p: EvalPrediction) -> [String: Double] {
    guard let logits = p.predictions, let labels = p.labelIds else { return [:] }
    let predictions = logits.argmax(dim: -1).int64s.map(Int.init)
    let references = labels.to(.int64).int64s.map(Int.init)
    let accuracy = (try? Metrics.accuracy(predictions: predictions, references: references)) ?? .nan
    let f1 = (try? Metrics.f1(predictions: predictions, references: references, average: .macro)) ?? .nan
    return ["accuracy": accuracy, "f1": f1]
  }

  /// A seeded split (HF's `train_test_split(test_size, seed)`).
  static func split(_ d: LabelledText, fraction: Double, seed: UInt64) -> (LabelledText, LabelledText) {
    var g = SplitMix(seed)
    var order = Array(d.texts.indices)
    for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(g.next() % UInt64(i + 1))) }
    let nEval = max(1, Int((Double(order.count) * fraction).rounded()))
    func take(_ idx: ArraySlice<Int>) -> LabelledText {
      LabelledText(texts: idx.map { d.texts[$0] }, pairs: d.pairs.map { p in idx.map { p[$0] } }, labels: idx.map { d.labels[$0] })
    }
    return (take(order[nEval...]), take(order[..<nEval]))
  }

  /// Tokenises with truncation to `maxLength`, noting how many texts were cut.
  static func encode(
    _ d: LabelledText, labels: [Int], tokenizer: Tokenizer, maxLength: Int, tokenTypes: Bool, name: String
  ) throws -> CollatedDataset {
    let full = try tokenizer(d.texts, pairs: d.pairs)
    let cut = full.encodings.filter { $0.ids.count > maxLength }.count
    if cut > 0 { note("\(cut) of \(d.texts.count) \(name) texts are longer than \(maxLength) tokens and were truncated") }
    let enc = try tokenizer(d.texts, pairs: d.pairs, truncation: .longestFirst, maxLength: maxLength)
    // HF's DataCollatorWithPadding: each batch padded to its longest row.
    return try CollatedDataset(
      examples: EncoderFeatures.make(
        inputIds: enc.inputIds, tokenTypeIds: tokenTypes ? enc.tokenTypeIds : nil, targets: [Batch.Key.labels: labels]),
      collator: DataCollatorWithPadding(padTokenId: Int(tokenizer.padTokenId ?? 0)))
  }
}

/// A warning on standard error.
func note(_ message: String) {
  FileHandle.standardError.write(Data(("loom: " + message + "\n").utf8))
}

/// A small seeded generator for host-side shuffles.
struct SplitMix {
  var state: UInt64
  init(_ seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
