import ArgumentParser
import Foundation
import LoomCore
import LoomDatasets
import LoomModels
import LoomNN
import LoomPostTrain
import LoomTokenizers
import LoomTrain

/// `loom train distill`: knowledge distillation of a teacher into a student (the seeds'
/// DistillationTrainer; DistilBERT's cosine loss and every-other-layer student as extras).
/// Data is read as `train classify` (--task classify), `train gpt` (causal-lm) and
/// `train mlm` (mlm) read it; the student is written as an HF directory with the teacher's tokenizer.
struct TrainDistillCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "distill",
    abstract:
      "Distil a teacher model into a student: α·CE + (1 − α)·T²·KL(teacher ‖ student) (+ --alpha-cos cosine loss)."
  )

  @Option(
    help:
      "The teacher: a model directory (a fine-tuned classifier for classify, a causal or masked LM)."
  )
  var teacher: String
  @Option(help: "The student to start from: a model directory.") var student: String?
  @Option(help: "A config.json to build a fresh student from (same vocabulary as the teacher).")
  var studentConfig: String?
  @Flag(
    help:
      "Build the student from the teacher: its embeddings, heads and layers 0, 2, 4, … (DistilBERT's initialisation)."
  )
  var studentFromTeacherLayers = false
  @Option(help: "classify, causal-lm or mlm.") var task: String
  @Option(
    name: .long, parsing: .upToNextOption,
    help: "Training data: classify: a .csv, .tsv or .jsonl file; causal-lm and mlm: text files.")
  var data: [String]
  @Option(
    help: "classify: evaluation file in the same format (default: --validation-split of --data).")
  var validationData: String?
  @Option(
    help: "classify: test file in the same format, scored once after training (test_results.json).")
  var testData: String?
  @Option(
    help:
      "Fraction of the examples held out for evaluation when --validation-data is not given (0 = none)."
  )
  var validationSplit = 0.1
  @Option(help: "classify: column with the text.") var textColumn: String?
  @Option(help: "classify: column with the second text of a pair.") var textPairColumn: String?
  @Option(help: "classify: column with the label.") var labelColumn: String?
  @Option(
    help:
      "Tokens per example (classify: truncation; causal-lm and mlm: block size; default: the model's positions, at most 512)."
  )
  var maxSeqLength: Int?
  @Option(help: "mlm: fraction of tokens chosen for prediction.") var mlmProbability = 0.15
  @Option(help: "Weight of the labels' cross-entropy; 1 − α weighs the KL.") var alpha =
    DistillationLoss.defaultAlpha
  @Option(help: "Softmax temperature T of the KL (multiplied back by T²).") var temperature =
    DistillationLoss.defaultTemperature
  @Option(
    help:
      "Weight of DistilBERT's cosine loss between the last hidden states (0 = off; needs equal hidden sizes)."
  )
  var alphaCos = 0.0
  @OptionGroup var training: TrainingFlags

  func parsedTask() throws -> DistillationTask {
    do { return try DistillationTask(flag: task) } catch let e as LoomError {
      throw ValidationError(e.message)
    }
  }

  /// Encoder fine-tuning's setup (evaluation and a checkpoint per epoch, best reloaded): by
  /// accuracy for classify, by evaluation loss for the language-model tasks.
  static func defaults(_ task: DistillationTask) -> TrainingArguments {
    task == .classify
      ? .encoderFineTuning(metricForBestModel: "accuracy")
      : .encoderFineTuning(metricForBestModel: "loss", greaterIsBetter: false)
  }

  func validate() throws {
    let t = try parsedTask()
    let sources = [student != nil, studentConfig != nil, studentFromTeacherLayers].filter { $0 }
      .count
    guard sources == 1 else {
      throw ValidationError(
        "give exactly one of --student DIR, --student-config config.json and --student-from-teacher-layers"
      )
    }
    if training.model != nil {
      throw ValidationError("--model is not used by distill: pass --teacher DIR and --student DIR")
    }
    if data.isEmpty { throw ValidationError("--data needs at least one file") }
    if t == .classify && (textColumn == nil || labelColumn == nil) {
      throw ValidationError("--task classify needs --text-column and --label-column")
    }
    if t != .classify
      && (textColumn != nil || labelColumn != nil || validationData != nil || testData != nil)
    {
      throw ValidationError(
        "--text-column, --label-column, --validation-data and --test-data belong to --task classify"
      )
    }
    if !(0..<1).contains(validationSplit) {
      throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)")
    }
    if let m = maxSeqLength, m < 2 {
      throw ValidationError("--max-seq-length must be at least 2, got \(m)")
    }
    if !(0...1).contains(alpha) { throw ValidationError("--alpha must be in [0, 1], got \(alpha)") }
    if !(temperature > 0) {
      throw ValidationError("--temperature must be positive, got \(temperature)")
    }
    if !(alphaCos >= 0) { throw ValidationError("--alpha-cos must be >= 0, got \(alphaCos)") }
    for (flag, dir) in [("--teacher", teacher), ("--student", student ?? teacher)] {
      guard FileManager.default.fileExists(atPath: dir + "/config.json") else {
        throw ValidationError(
          "\(flag) \(dir) has no config.json: pass a model directory (config.json and model.safetensors)"
        )
      }
    }
    try training.validate(defaults: Self.defaults(t))
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    let task = try parsedTask()
    let device = try training.useDevice()
    var args = try training.arguments(defaults: Self.defaults(task))
    let tok: Tokenizer
    do { tok = try Tokenizer.fromPretrained(teacher) } catch {
      throw LoomError(
        "--teacher \(teacher): cannot load its tokenizer (\(error)); the student uses the teacher's tokenizer"
      )
    }
    let teacherConfig = try EncoderLoading.configJSON(teacher)
    try checkStudentVocabulary(teacherConfig)

    // Labels (classify): the teacher's own names when it has them, else the data's.
    var labels: ClassifyLabels? = nil
    var train: LabelledText? = nil
    if task == .classify {
      let t = try LabelledText.read(
        data[0], flag: "--data", textColumn: textColumn!, pairColumn: textPairColumn,
        labelColumn: labelColumn!)
      let existing = (teacherConfig["id2label"] as? [String: String]).map { m in
        (0..<m.count).map { m[String($0)] ?? "" }
      }
      let named = existing.flatMap { e in
        e.enumerated().allSatisfy({ $1 == "LABEL_\($0)" }) ? nil : e
      }
      let l = try ClassifyLabels(
        train: t, problem: .singleLabelClassification, separator: nil, modelNames: named,
        source: "--data \(data[0])")
      if let existing, existing.count != l.names.count {
        throw LoomError(
          "--teacher \(teacher) has \(existing.count) labels but --data \(data[0]) has \(l.names.count) (\(l.names.joined(separator: ", "))): distil on data with the teacher's classes"
        )
      }
      (labels, train) = (l, t)
    }
    let edits = labels?.configEdits ?? [:]

    manualSeed(args.seed)
    let teacherModel =
      try task == .classify
      ? EncoderLoading.load(.sequenceClassification, from: teacher, edits: edits)
      : ModelRegistry.loadModel(task.autoTask, from: teacher)
    let studentModel = try loadStudent(task, edits: edits)
    _ = teacherModel.to(device: device)
    _ = studentModel.to(device: device)
    let positions = min(Self.positions(teacherModel), Self.positions(studentModel))
    let maxLength = min(maxSeqLength ?? min(positions, 512), positions)
    if let m = maxSeqLength, m > positions {
      throw LoomError(
        "--max-seq-length \(m) exceeds the models' \(positions) positions; use at most \(positions)"
      )
    }

    let types =
      EncoderLoading.takesTokenTypes(teacherModel) && EncoderLoading.takesTokenTypes(studentModel)
    let (trainSet, evalSet) = try datasets(
      task, tok: tok, labels: labels, train: train, maxLength: maxLength, tokenTypes: types,
      seed: args.seed)
    if evalSet == nil {
      args.evalStrategy = .no
      args.loadBestModelAtEnd = false
    }
    print(
      "loom train distill: teacher \(type(of: teacherModel)) (\(teacherModel.parameterCount()) parameters) → student \(type(of: studentModel)) (\(studentModel.parameterCount()) parameters); --task \(task.rawValue), α \(alpha), T \(temperature)\(alphaCos > 0 ? ", alpha_cos \(alphaCos)" : "")"
    )
    print(
      "data: \(trainSet.count) training and \(evalSet?.count ?? 0) evaluation examples, max length \(maxLength)"
    )
    // Accuracy and macro-F1 of the student's argmax, as `train classify` reports them.
    let metrics: ((EvalPrediction) -> [String: Double])? =
      task == .classify
      ? { TrainClassifyCommand.metrics($0, problem: .singleLabelClassification) } : nil
    let trainer = try DistillationTrainer(
      model: studentModel, teacher: teacherModel, task: task, args: args, trainDataset: trainSet,
      evalDataset: evalSet,
      alpha: alpha, temperature: temperature, alphaCos: alphaCos, computeMetrics: metrics)
    trainer.saveModelFunction = { m, dir in
      try m.savePretrained(to: dir)
      try tok.savePretrained(dir)
    }
    trainer.throughputUnit = task == .classify ? .samples : .tokens
    trainer.isLanguageModel = false  // the loss is a distillation loss, not a token cross-entropy
    let state = try trainer.train()
    guard trainer.isWorldProcessZero() else { return }  // data parallel: rank 0 writes the results
    try studentModel.savePretrained(to: args.outputDir)
    try tok.savePretrained(args.outputDir)
    if let plot = try LossPlot.write(history: state.logHistory, to: args.outputDir + "/loss.png") {
      print("loss plot: \(plot)")
    }
    if let testData, let labels {
      let test = try LabelledText.read(
        testData, flag: "--test-data", textColumn: textColumn!, pairColumn: textPairColumn,
        labelColumn: labelColumn!)
      let testSet = try TrainClassifyCommand.encode(
        test, labels: try labels.targets(test, source: "--test-data \(testData)"), tokenizer: tok,
        maxLength: maxLength,
        tokenTypes: types, name: "--test-data", pad: Int(tok.padTokenId ?? 0))
      let metrics = try trainer.predict(testSet).metrics
      try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys, .withoutEscapingSlashes])
        .write(to: URL(fileURLWithPath: args.outputDir + "/test_results.json"))
      print(
        "test: "
          + metrics.keys.sorted().map { "\($0) " + String(format: "%.4f", metrics[$0]!) }.joined(
            separator: ", "))
    }
    print("student saved to \(args.outputDir)")
  }

  /// --student, --student-config or the teacher's every other layer, as the task's Auto class.
  func loadStudent(_ task: DistillationTask, edits: [String: Any]) throws -> Module {
    var directory = student
    if studentFromTeacherLayers {
      let tmp = FileManager.default.temporaryDirectory.appendingPathComponent(
        "loom-student-\(UUID().uuidString)"
      ).path
      let kept = try StudentFromTeacher.write(teacher: teacher, to: tmp)
      print(
        "student: the teacher's embeddings, heads and layers \(kept.map(String.init).joined(separator: ", "))"
      )
      directory = tmp
    }
    if let directory {
      defer {
        if studentFromTeacherLayers { try? FileManager.default.removeItem(atPath: directory) }
      }
      return try task == .classify
        ? EncoderLoading.load(.sequenceClassification, from: directory, edits: edits)
        : ModelRegistry.loadModel(task.autoTask, from: directory)
    }
    var fields = try ConfigFile.object(at: studentConfig!)
    for (k, v) in edits { fields[k] = v }
    guard let type = fields["model_type"] as? String else {
      throw LoomError("--student-config \(studentConfig!) has no model_type")
    }
    return try ModelRegistry.make(
      task.autoTask,
      config: ModelRegistry.config(
        modelType: type, fields: fields, source: "--student-config \(studentConfig!)"))
  }

  /// A --student-config or --student whose vocab_size differs from the teacher's cannot be
  /// compared token by token: an error before any data is read.
  func checkStudentVocabulary(_ teacherConfig: [String: Any]) throws {
    guard let t = teacherConfig["vocab_size"] as? Int, !studentFromTeacherLayers else { return }
    let (flag, path) =
      studentConfig.map { ("--student-config", $0) } ?? ("--student", student! + "/config.json")
    let fields = try ConfigFile.object(at: path)
    if let s = fields["vocab_size"] as? Int, s != t {
      throw LoomError(
        "\(flag) \(path) has vocab_size \(s) but the teacher \(teacher) has \(t): the student must share the teacher's vocabulary and tokenizer (set vocab_size to \(t))"
      )
    }
  }

  /// The position table's size (BERT's max_position_embeddings, GPT-2's n_positions).
  static func positions(_ model: Module) -> Int {
    if let e = model as? any EncoderModel { return e.maxSequenceLength }
    if let g = model as? any CausalLanguageModel { return g.maxPositions }
    return 512
  }

  /// The training and evaluation sets of the task, read as the matching `train` command reads them.
  func datasets(
    _ task: DistillationTask, tok: Tokenizer, labels: ClassifyLabels?, train: LabelledText?,
    maxLength: Int, tokenTypes types: Bool,
    seed: UInt64
  ) throws -> (any TrainingDataset, (any TrainingDataset)?) {
    switch task {
    case .classify:
      var train = train!
      let labels = labels!
      var eval: LabelledText? = nil
      if let v = validationData {
        eval = try LabelledText.read(
          v, flag: "--validation-data", textColumn: textColumn!, pairColumn: textPairColumn,
          labelColumn: labelColumn!)
      } else if validationSplit > 0 {
        (train, eval) = TrainClassifyCommand.split(train, fraction: validationSplit, seed: seed)
      }
      let trainSet = try TrainClassifyCommand.encode(
        train, labels: try labels.targets(train, source: "--data \(data[0])"), tokenizer: tok,
        maxLength: maxLength, tokenTypes: types,
        name: "--data", pad: Int(tok.padTokenId ?? 0))
      let evalSet = try eval.map {
        try TrainClassifyCommand.encode(
          $0, labels: try labels.targets($0, source: "the validation data"), tokenizer: tok,
          maxLength: maxLength, tokenTypes: types,
          name: "validation", pad: Int(tok.padTokenId ?? 0))
      }
      return (trainSet, evalSet)
    case .causalLM:
      let lines = try TrainMLMCommand.readLines(data, flag: "--data")
      let text = lines.joined(separator: "\n")
      let ids = try tok.encode(text, addSpecialTokens: false).ids.map { Int32($0) }
      let split = validationSplit > 0 ? Int(Double(ids.count) * (1 - validationSplit)) : ids.count
      let trainSet = try CausalLMBlocks(tokens: Array(ids[..<split]), blockSize: maxLength)
      let evalSet =
        split < ids.count
        ? try? CausalLMBlocks(tokens: Array(ids[split...]), blockSize: maxLength) : nil
      return (trainSet, evalSet)
    case .mlm:
      guard let maskId = tok.maskTokenId else {
        throw LoomError(
          "--teacher \(teacher)'s tokenizer has no mask token (<mask> / [MASK]); --task mlm needs one"
        )
      }
      let lines = try TrainMLMCommand.readLines(data, flag: "--data").filter {
        !$0.trimmingCharacters(in: .whitespaces).isEmpty
      }
      guard !lines.isEmpty else { throw LoomError("the --data files contain no text") }
      let features: [Features] = MaskedLMExamples.grouped(
        try tok(lines).encodings, blockSize: maxLength
      ).map { e in
        var f: Features = [
          "input_ids": e.ids.map(Int.init),
          "special_tokens_mask": e.specialTokensMask.map(Int.init),
        ]
        if types { f["token_type_ids"] = [Int](repeating: 0, count: e.ids.count) }
        return f
      }
      let nEval =
        validationSplit == 0 || features.count < 4
        ? 0 : max(1, Int(Double(features.count) * validationSplit))
      func collator(_ seed: UInt64) throws -> any DataCollator {
        try DataCollatorForLanguageModeling(
          padTokenId: Int(tok.padTokenId ?? 0), maskTokenId: Int(maskId), vocabSize: tok.vocabSize,
          specialTokenIds: Set(tok.allSpecialIds.map(Int.init)), mlmProbability: mlmProbability,
          seed: seed)
      }
      let trainSet = try CollatedDataset(
        examples: Array(features[nEval...]), collator: collator(seed))
      let evalSet =
        nEval == 0
        ? nil
        : try CollatedDataset(examples: Array(features[..<nEval]), collator: collator(seed &+ 1))
      return (trainSet, evalSet)
    }
  }
}
