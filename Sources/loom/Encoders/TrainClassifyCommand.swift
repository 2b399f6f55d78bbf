import ArgumentParser
import Foundation
import LoomAdapt
import LoomCore
import LoomDatasets
import LoomGenerate
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTrain

/// `loom train classify`: fine-tunes an encoder for sequence classification (HF's run_glue /
/// run_classification, the seeds' DistilBERT sentiment Trainer), evaluating each epoch and
/// keeping the best epoch's weights: accuracy and macro-F1 for single-label classes, mse and
/// Pearson's r for regression, exact-match accuracy and micro / macro F1 for multi-label.
struct TrainClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classify",
    abstract: "Fine-tune an encoder (BERT, RoBERTa, DistilBERT) or a GPT-2 / Llama / BLOOM classifier on texts or pairs.")

  @Option(help: "Training file: .csv, .tsv or .jsonl with a header / keys.") var data: String
  @Option(help: "Evaluation file in the same format (default: --validation-split of --data).") var validationData: String?
  @Option(help: "Test file in the same format, scored once after training (test_results.json).") var testData: String?
  @Option(help: "Fraction of --data held out for evaluation when --validation-data is not given (0 = none).")
  var validationSplit = 0.1
  @Option(help: "Column with the text.") var textColumn: String
  @Option(help: "Column with the second text of a pair (e.g. NLI's hypothesis).") var textPairColumn: String?
  @Option(help: "Column with the label: text or integer classes, numbers for regression, lists for multi-label.")
  var labelColumn: String
  @Option(help: "regression, single_label_classification or multi_label_classification (default: a column of numbers with fractions is regression, list cells or --label-separator multi-label).")
  var problemType: String?
  @Option(help: "Multi-label: split each label cell at this string, e.g. ';' (JSON-lines list cells and JSON-list text need none).")
  var labelSeparator: String?
  @Option(help: "Tokenizer directory instead of --model's.") var tokenizer: String?
  @Option(help: "Longer texts are truncated (default: the tokenizer's model_max_length, at most the model's positions).")
  var maxSeqLength: Int?
  @OptionGroup var training: TrainingFlags
  @OptionGroup var adapter: PeftFlags

  /// The seeds' fine-tuning setup, the most accurate epoch reloaded at the end.
  static let defaults = TrainingArguments.encoderFineTuning(metricForBestModel: "accuracy")

  func validate() throws {
    guard training.model != nil else { throw ValidationError("--model DIR is required: the pretrained encoder to fine-tune") }
    if !(0..<1).contains(validationSplit) { throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)") }
    if let m = maxSeqLength, m < 2 { throw ValidationError("--max-seq-length must be at least 2, got \(m)") }
    _ = try problem()
    if labelSeparator == "" { throw ValidationError("--label-separator must not be empty") }
    if labelSeparator != nil, let p = try problem(), p != .multiLabelClassification {
      throw ValidationError("--label-separator splits multi-label cells; it contradicts --problem-type \(p.rawValue)")
    }
    try training.validate(defaults: Self.defaults)
    try adapter.validate()
  }

  /// --problem-type, checked against HF's names.
  func problem() throws -> ProblemType? {
    guard let problemType else { return nil }
    guard let p = ProblemType(rawValue: problemType) else {
      throw ValidationError(
        "--problem-type must be \(ProblemType.allCases.map(\.rawValue).joined(separator: ", ")), got '\(problemType)'")
    }
    return p
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    let device = try training.useDevice()
    let modelDir = training.model!
    var train = try LabelledText.read(data, flag: "--data", textColumn: textColumn, pairColumn: textPairColumn, labelColumn: labelColumn)
    // Labels: the model's own when it is already a classifier with named labels, else the training data's.
    let config = try EncoderLoading.configJSON(modelDir)
    let existing = (config["id2label"] as? [String: String]).map { m in (0..<m.count).map { m[String($0)] ?? "" } }
    let modelNames = existing.flatMap { e in e.enumerated().allSatisfy({ $1 == "LABEL_\($0)" }) ? nil : e }
    let labels = try ClassifyLabels(
      train: train, problem: try problem(), separator: labelSeparator, modelNames: modelNames, source: "--data \(data)")
    let best = labels.bestMetric
    var args = try training.arguments(
      defaults: .encoderFineTuning(metricForBestModel: best.name, greaterIsBetter: best.greaterIsBetter))
    var eval: LabelledText?
    if let v = validationData {
      eval = try LabelledText.read(v, flag: "--validation-data", textColumn: textColumn, pairColumn: textPairColumn, labelColumn: labelColumn)
    } else if validationSplit > 0 {
      (train, eval) = Self.split(train, fraction: validationSplit, seed: args.seed)
    }
    let trainLabels = try labels.targets(train, source: "--data \(data)")
    let evalLabels = try eval.map {
      try labels.targets($0, source: validationData.map { "--validation-data \($0)" } ?? "the validation split")
    }
    let test = try testData.map {
      try LabelledText.read($0, flag: "--test-data", textColumn: textColumn, pairColumn: textPairColumn, labelColumn: labelColumn)
    }
    let testLabels = try test.map { try labels.targets($0, source: "--test-data \(testData ?? "")") }

    manualSeed(args.seed)
    var edits = labels.configEdits
    if let pad = try Self.decoderPadToken(config: config, tokenizer: tokenizer ?? modelDir, model: modelDir) {
      edits["pad_token_id"] = pad
    }
    let module = try EncoderLoading.load(.sequenceClassification, from: modelDir, edits: edits)
    guard let model = module as? any EncoderModel else { throw LoomError("\(modelDir): not an encoder") }
    _ = model.to(device: device)
    let tok = try EncoderLoading.tokenizer(tokenizer, model: modelDir, modelVocabSize: EncoderLoading.vocabSize(model))
    let prompted = try PromptTuningClassifyRun.wrap(
      adapter, base: model, baseDirectory: modelDir, tokenizer: tokenizer ?? modelDir,
      encode: { try tok.encode($0).ids.map(Int.init) })
    let peft =
      prompted != nil
      ? nil : try PeftTraining.apply(adapter, to: model, task: .sequenceClassification, base: modelDir)
    // What trains: the prompt-tuned wrapper, else the (LoRA-wrapped) model itself.
    let trained: any EncoderModel = prompted ?? model
    // The virtual tokens take positions too.
    let maxLength = try EncoderLoading.maxLength(maxSeqLength, tokenizer: tok, model: trained)
    let types = EncoderLoading.takesTokenTypes(model)
    // Batches pad with the id the model pools by (a decoder's pad_token_id), else the tokenizer's.
    let pad = (edits["pad_token_id"] as? Int) ?? Int(tok.padTokenId ?? 0)
    let trainSet = try Self.encode(
      train, labels: trainLabels, tokenizer: tok, maxLength: maxLength, tokenTypes: types, name: "--data", pad: pad)
    let evalSet = try eval.map {
      try Self.encode(
        $0, labels: evalLabels!, tokenizer: tok, maxLength: maxLength, tokenTypes: types, name: "validation", pad: pad)
    }
    let trainer = EncoderFineTuning.trainer(
      trained, tokenizer: tok, args: &args, train: trainSet, eval: evalSet,
      metrics: { Self.metrics($0, problem: labels.problem) }, peft: peft, prompt: prompted)
    print(
      "loom train classify: \(type(of: model)) from \(modelDir), \(model.parameterCount()) parameters; \(labels.problem.rawValue), labels \(labels.names.joined(separator: ", "))"
    )
    print("data: \(trainSet.count) training and \(evalSet?.count ?? 0) evaluation examples, max length \(maxLength)")
    try EncoderFineTuning.trainAndSave(
      trainer, model, tokenizer: tok, peft: peft, labelsConfig: config.merging(edits) { $1 },
      prompt: prompted)
    if let test, let testLabels {
      let testSet = try Self.encode(
        test, labels: testLabels, tokenizer: tok, maxLength: maxLength, tokenTypes: types, name: "--test-data", pad: pad)
      let metrics = try trainer.predict(testSet).metrics
      let json = try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys, .withoutEscapingSlashes])
      try json.write(to: URL(fileURLWithPath: args.outputDir + "/test_results.json"))
      print("test: " + metrics.keys.sorted().map { "\($0) " + String(format: "%.4f", metrics[$0]!) }.joined(separator: ", "))
    }
    print("model saved to \(args.outputDir)")
  }

  /// HF's compute_metrics: accuracy and macro-F1 of the argmax for single-label classes;
  /// mse and Pearson's r for regression; for multi-label, logits > 0 (sigmoid > 0.5) scored by
  /// exact-match accuracy and micro / macro F1.
  static func metrics(_ p: EvalPrediction, problem: ProblemType) -> [String: Double] {
    guard let logits = p.predictions, let labels = p.labelIds else { return [:] }
    switch problem {
    case .regression:
      let x = logits.reshape([-1]).to(.float64).doubles, y = labels.reshape([-1]).to(.float64).doubles
      return [
        "mse": (try? Metrics.meanSquaredError(predictions: x, references: y)) ?? .nan,
        "pearson": (try? Metrics.pearson(predictions: x, references: y)) ?? .nan,
      ]
    case .multiLabelClassification:
      let k = logits.shape[logits.rank - 1]
      let x = logits.reshape([-1]).floats.map { $0 > 0 ? 1 : 0 }, y = labels.reshape([-1]).floats.map { $0 > 0.5 ? 1 : 0 }
      let rows = { (v: [Int]) in stride(from: 0, to: v.count, by: k).map { Array(v[$0..<$0 + k]) } }
      guard let s = try? Metrics.multiLabel(predictions: rows(x), references: rows(y)) else { return [:] }
      return ["accuracy": s.exactMatch, "f1_micro": s.microF1, "f1_macro": s.macroF1]
    case .singleLabelClassification: break
    }
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
    return (d.select(order[nEval...]), d.select(order[..<nEval]))
  }

  /// A decoder-only base (GPT-2, Llama, BLOOM) pools at the last token that is not pad_token_id;
  /// when its config has none, the tokenizer's pad token or else eos_token_id takes the role (HF's
  /// usual `tokenizer.pad_token = tokenizer.eos_token`), noted. nil: nothing to change.
  static func decoderPadToken(config: [String: Any], tokenizer: String, model: String) throws -> Int? {
    guard ["gpt2", "llama", "bloom"].contains(config["model_type"] as? String ?? ""),
      config["pad_token_id"] as? Int == nil
    else { return nil }
    let tokenizerPad = (try? Tokenizer.fromPretrained(tokenizer))?.padTokenId.map(Int.init)
    let eos = (config["eos_token_id"] as? Int) ?? (config["eos_token_id"] as? [Int])?.first
    guard let pad = tokenizerPad ?? eos else {
      throw LoomError(
        "\(model)/config.json has no pad_token_id nor eos_token_id, and the tokenizer no pad token: a \(config["model_type"]!) classifier pools at the last non-padding token, so set pad_token_id in config.json")
    }
    note(
      "\(model) has no pad_token_id: batches pad with token \(pad) (\(tokenizerPad != nil ? "the tokenizer's pad token" : "eos_token_id")) and the classifier pools at the last other token")
    return pad
  }

  /// Tokenises with truncation to `maxLength`, noting how many texts were cut; batches pad with `pad`.
  static func encode(
    _ d: LabelledText, labels: ClassifyLabels.Targets, tokenizer: Tokenizer, maxLength: Int, tokenTypes: Bool,
    name: String, pad: Int
  ) throws -> CollatedDataset {
    let full = try tokenizer(d.texts, pairs: d.pairs)
    let cut = full.encodings.filter { $0.ids.count > maxLength }.count
    if cut > 0 { note("\(cut) of \(d.texts.count) \(name) texts are longer than \(maxLength) tokens and were truncated") }
    let enc = try tokenizer(d.texts, pairs: d.pairs, truncation: .longestFirst, maxLength: maxLength)
    // HF's DataCollatorWithPadding: each batch padded to its longest row.
    switch labels {
    case .ids(let ids):
      return try CollatedDataset(
        examples: EncoderFeatures.make(
          inputIds: enc.inputIds, tokenTypeIds: tokenTypes ? enc.tokenTypeIds : nil, targets: [Batch.Key.labels: ids]),
        collator: DataCollatorWithPadding(padTokenId: pad))
    case .floats(let rows):
      return try CollatedDataset(
        examples: EncoderFeatures.make(
          inputIds: enc.inputIds, tokenTypeIds: tokenTypes ? enc.tokenTypeIds : nil,
          targets: [DataCollatorWithFloatLabels.rowKey: Array(rows.indices)]),
        collator: DataCollatorWithFloatLabels(padTokenId: pad, targets: rows))
    }
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
