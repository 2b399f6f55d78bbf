import ArgumentParser
import Foundation
import LoomCore
import LoomDatasets
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTrain

/// `loom train token-classify`: fine-tunes an encoder to tag words (HF's run_ner): labels on
/// each word's first sub-token, entity-level precision / recall / F1 as seqeval computes them.
struct TrainTokenClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "token-classify", abstract: "Fine-tune an encoder to tag words (NER-style, IOB tags).")

  @Option(help: "Training file: JSON lines with a list of words and a list of tags per row.") var data: String
  @Option(help: "Evaluation file in the same format.") var validationData: String?
  @Option(help: "Column with the words.") var textColumn = "tokens"
  @Option(help: "Column with the tags (one per word).") var labelColumn = "ner_tags"
  @Option(help: "Tokenizer directory instead of --model's.") var tokenizer: String?
  @Option(help: "Longer rows are truncated (default: the model's positions).") var maxSeqLength: Int?
  @OptionGroup var training: TrainingFlags
  @OptionGroup var adapter: PeftFlags

  /// The seeds' fine-tuning setup, the epoch with the best entity F1 reloaded at the end.
  static let defaults = TrainingArguments.encoderFineTuning(metricForBestModel: "f1")

  func validate() throws {
    guard training.model != nil else { throw ValidationError("--model DIR is required: the pretrained encoder to fine-tune") }
    if let m = maxSeqLength, m < 2 { throw ValidationError("--max-seq-length must be at least 2, got \(m)") }
    try training.validate(defaults: Self.defaults)
    try adapter.validate()
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    var args = try training.arguments(defaults: Self.defaults)
    let device = try training.useDevice()
    let modelDir = training.model!
    let train = try WordTagging.read(data, flag: "--data", wordsColumn: textColumn, tagsColumn: labelColumn)
    let eval = try validationData.map { try WordTagging.read($0, flag: "--validation-data", wordsColumn: textColumn, tagsColumn: labelColumn) }
    let names = LabelledText.labelNames(train.tags.flatMap { $0 })
    let tagIds = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    manualSeed(args.seed)
    let edits: [String: Any] = [
      "id2label": Dictionary(uniqueKeysWithValues: names.enumerated().map { (String($0), $1) }),
      "label2id": tagIds,
    ]
    let module = try EncoderLoading.load(.tokenClassification, from: modelDir, edits: edits)
    guard let model = module as? any EncoderModel else { throw LoomError("\(modelDir): not an encoder") }
    _ = model.to(device: device)
    let tok = try EncoderLoading.tokenizer(tokenizer, model: modelDir, modelVocabSize: EncoderLoading.vocabSize(model))
    let prompted = try PromptTuningClassifyRun.wrap(
      adapter, base: model, baseDirectory: modelDir, tokenizer: tokenizer ?? modelDir, task: .tokenClassification,
      encode: { try tok.encode($0).ids.map(Int.init) })
    let peft = prompted != nil ? nil : try PeftTraining.apply(adapter, to: model, task: .tokenClassification, base: modelDir)
    // What trains: the prompt-tuned wrapper (its logits cover the real tokens), else the model.
    let trained: any EncoderModel = prompted ?? model
    let maxLength = try EncoderLoading.maxLength(maxSeqLength, tokenizer: tok, model: trained)
    let types = EncoderLoading.takesTokenTypes(model)
    func examples(_ d: WordTagging, _ source: String) throws -> CollatedDataset {
      let (ids, tt, labels) = try d.encode(tokenizer: tok, tagIds: tagIds, maxLength: maxLength, source: source)
      var collator = DataCollatorForTokenClassification(padTokenId: Int(tok.padTokenId ?? 0))
      // One width for every batch, so evaluation can stack the logits.
      collator.padding.maxLength = ids.map { $0.count }.max()
      return try CollatedDataset(
        examples: EncoderFeatures.make(inputIds: ids, tokenTypeIds: types ? tt : nil, tokenLabels: labels),
        collator: collator)
    }
    let trainSet = try examples(train, "--data \(data)")
    let evalSet = try eval.map { try examples($0, "--validation-data \(validationData!)") }
    let trainer = EncoderFineTuning.trainer(
      trained, tokenizer: tok, args: &args, train: trainSet, eval: evalSet, metrics: { p in Self.metrics(p, names: names) },
      peft: peft, prompt: prompted)
    print("loom train token-classify: \(type(of: model)), tags \(names.joined(separator: ", "))")
    print("data: \(trainSet.count) training and \(evalSet?.count ?? 0) evaluation rows")
    try EncoderFineTuning.trainAndSave(
      trainer, model, tokenizer: tok, peft: peft,
      labelsConfig: try EncoderLoading.configJSON(modelDir).merging(edits) { $1 }, prompt: prompted)
    let adapterOnly = prompted != nil || (peft.map { !$0.merge } ?? false)
    print("\(adapterOnly ? "adapter" : "model") saved to \(args.outputDir)")
  }

  /// seqeval's entity-level scores over the labelled (first sub-token) positions.
  static func metrics(_ p: EvalPrediction, names: [String]) -> [String: Double] {
    guard let logits = p.predictions, let labels = p.labelIds else { return [:] }
    let (n, s) = (labels.shape[0], labels.shape[1])
    let predicted = logits.argmax(dim: -1).int64s
    let gold = labels.to(.int64).int64s
    var preds: [[String]] = [], refs: [[String]] = []
    for r in 0..<n {
      var pr: [String] = [], rf: [String] = []
      for j in 0..<s where gold[r * s + j] != -100 {
        pr.append(names[Int(predicted[r * s + j])])
        rf.append(names[Int(gold[r * s + j])])
      }
      preds.append(pr)
      refs.append(rf)
    }
    guard let scores = try? Seqeval.compute(predictions: preds, references: refs) else { return [:] }
    return ["precision": scores.precision, "recall": scores.recall, "f1": scores.f1, "accuracy": scores.accuracy]
  }
}
