import ArgumentParser
import Foundation
import LoomCore
import LoomDatasets
import LoomGenerate
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTrain

/// `loom train qa`: extractive question answering on SQuAD-format JSON (HF's run_qa): long
/// contexts split into windows with a stride, start/end logits, n-best post-processing and
/// the SQuAD script's exact match and F1.
struct TrainQACommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "qa", abstract: "Fine-tune an encoder for extractive question answering (SQuAD format).")

  @Option(help: "Training file: SQuAD JSON (or its flat JSON-lines form).") var data: String
  @Option(help: "Evaluation file in the same format.") var validationData: String?
  @Option(help: "Tokenizer directory instead of --model's.") var tokenizer: String?
  @Option(help: "Tokens per window (question + context).") var maxSeqLength = 384
  @Option(help: "Overlap of consecutive context windows, in tokens.") var docStride = 128
  @Option(help: "Start and end candidates per window.") var nBestSize = 20
  @Option(help: "Longest answer, in tokens.") var maxAnswerLength = 30
  @OptionGroup var training: TrainingFlags
  @OptionGroup var adapter: PeftFlags

  /// run_qa's README settings: 2 epochs, batch 12, lr 3e-5.
  static let defaults: TrainingArguments = {
    var a = TrainingArguments(outputDir: "")
    a.numTrainEpochs = 2
    a.perDeviceTrainBatchSize = 12
    a.learningRate = 3e-5
    a.loggingSteps = 50
    a.evalStrategy = .epoch
    a.saveStrategy = .epoch
    a.saveTotalLimit = 2
    return a
  }()

  func validate() throws {
    guard training.model != nil else { throw ValidationError("--model DIR is required: the pretrained encoder to fine-tune") }
    if docStride < 0 || docStride >= maxSeqLength / 2 {
      throw ValidationError("--doc-stride must be in 0..<\(maxSeqLength / 2) (half of --max-seq-length), got \(docStride)")
    }
    if nBestSize < 1 { throw ValidationError("--n-best-size must be at least 1") }
    if maxAnswerLength < 1 { throw ValidationError("--max-answer-length must be at least 1") }
    try training.validate(defaults: Self.defaults)
    try adapter.validate()
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    var args = try training.arguments(defaults: Self.defaults)
    let device = try training.useDevice()
    let modelDir = training.model!
    func load(_ path: String, _ flag: String) throws -> Dataset {
      do { return try Dataset.loadSQuAD(path) } catch { throw LoomError("\(flag) \(path): \(error)") }
    }
    let train = try load(data, "--data")
    let eval = try validationData.map { try load($0, "--validation-data") }
    manualSeed(args.seed)
    let module = try EncoderLoading.load(.questionAnswering, from: modelDir, edits: [:])
    guard let model = module as? any EncoderModel else { throw LoomError("\(modelDir): not an encoder") }
    _ = model.to(device: device)
    let tok = try EncoderLoading.tokenizer(tokenizer, model: modelDir, modelVocabSize: EncoderLoading.vocabSize(model))
    let prompted = try PromptTuningClassifyRun.wrap(
      adapter, base: model, baseDirectory: modelDir, tokenizer: tokenizer ?? modelDir, task: .questionAnswering,
      encode: { try tok.encode($0).ids.map(Int.init) })
    let peft = prompted != nil ? nil : try PeftTraining.apply(adapter, to: model, task: .questionAnswering, base: modelDir)
    // What trains: the prompt-tuned wrapper (its span logits cover the real tokens), else the model.
    let trained: any EncoderModel = prompted ?? model
    let maxLength = try EncoderLoading.maxLength(maxSeqLength, tokenizer: tok, model: trained)
    let keys = ["input_ids", "attention_mask", "start_positions", "end_positions"]
      + (EncoderLoading.takesTokenTypes(model) ? ["token_type_ids"] : [])
    func examples(_ d: Dataset) throws -> CollatedDataset {
      let f = try QuestionAnswering.prepareTrainFeatures(d, tokenizer: tok, maxLength: maxLength, docStride: docStride)
      let features = try f.intFeatures(keys)
      var collator = DataCollatorWithPadding(padTokenId: Int(tok.padTokenId ?? 0))
      // Every batch max_length wide, so evaluation can stack the logits.
      collator.padding.maxLength = maxLength
      return try CollatedDataset(examples: features, collator: collator)
    }
    let trainSet = try examples(train)
    let evalSet = try eval.map(examples)
    // The same windows with their context offsets, for post-processing.
    let evalWindows = try eval.map {
      try QuestionAnswering.prepareValidationFeatures($0, tokenizer: tok, maxLength: maxLength, docStride: docStride)
    }
    print("loom train qa: \(type(of: model)); \(train.count) questions → \(trainSet.count) windows of ≤ \(maxLength) tokens")
    let (nBest, maxAnswer) = (nBestSize, maxAnswerLength)
    let trainer = EncoderFineTuning.trainer(
      trained, tokenizer: tok, args: &args, train: trainSet, eval: evalSet,
      metrics: { p in
        guard let eval, let windows = evalWindows, let logits = p.predictions else { return [:] }
        return Self.squad(logits, examples: eval, windows: windows, nBest: nBest, maxAnswerLength: maxAnswer)
      }, peft: peft, prompt: prompted)
    try EncoderFineTuning.trainAndSave(trainer, model, tokenizer: tok, peft: peft, prompt: prompted)
    print("\(prompted != nil || (peft.map { !$0.merge } ?? false) ? "adapter" : "model") saved to \(args.outputDir)")
  }

  /// Exact match and F1 (percentages, as the SQuAD script prints them) of the post-processed answers.
  static func squad(_ logits: Tensor, examples: Dataset, windows: Dataset, nBest: Int, maxAnswerLength: Int) -> [String: Double] {
    let (n, s) = (logits.shape[0], logits.shape[1])
    let v = logits.contiguous().floats  // [N, S, 2]: start and end
    let starts = (0..<n).map { r in (0..<s).map { v[(r * s + $0) * 2] } }
    let ends = (0..<n).map { r in (0..<s).map { v[(r * s + $0) * 2 + 1] } }
    guard
      let predictions = try? QuestionAnswering.postprocess(
        examples: examples, features: windows, startLogits: starts, endLogits: ends, nBestSize: nBest,
        maxAnswerLength: maxAnswerLength),
      let answers = try? examples.column("answers").map({ $0["text"]?.list?.compactMap(\.string) ?? [] }),
      let m = try? SQuADMetric.compute(predictions: predictions.map(\.text), references: answers)
    else { return [:] }
    return ["exact_match": m.exactMatch, "f1": m.f1]
  }
}
