import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTrain

struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train", abstract: "Train a model.", subcommands: [TrainGPTCommand.self, TrainAECommand.self, TrainDAECommand.self, TrainVAECommand.self])
}

/// Hugging Face TrainingArguments as command-line flags (--learning-rate, --max-steps, …).
struct TrainingFlags: ParsableArguments {
  @Option(help: "Directory for the model, checkpoints, metrics and plots.") var outputDir: String
  @Flag(help: "Reuse a non-empty output directory.") var overwriteOutputDir = false
  @Option(help: "Epochs (ignored when --max-steps > 0).") var numTrainEpochs: Double = 1
  @Option(help: "Total optimizer steps (overrides epochs).") var maxSteps: Int = -1
  @Option(help: "Batch size for training.") var perDeviceTrainBatchSize = 8
  @Option(help: "Batch size for evaluation.") var perDeviceEvalBatchSize = 8
  @Option(help: "Micro-batches per optimizer step.") var gradientAccumulationSteps = 1
  @Option(help: "Peak learning rate.") var learningRate: Double = 3e-4
  @Option(help: "AdamW weight decay (not on biases and norms).") var weightDecay: Double = 0.01
  @Option var adamBeta1: Double = 0.9
  @Option var adamBeta2: Double = 0.999
  @Option var adamEpsilon: Double = 1e-8
  @Option(help: "Linear warmup steps.") var warmupSteps = 0
  @Option(help: "Warmup as a fraction of training.") var warmupRatio: Double = 0
  @Option(help: "linear, cosine, constant or constant_with_warmup.") var lrSchedulerType = "linear"
  @Option(help: "Gradient clipping norm (0 = off).") var maxGradNorm: Double = 1
  @Option(help: "Log every N steps.") var loggingSteps = 50
  @Option(help: "no, steps or epoch.") var evalStrategy = "steps"
  @Option(help: "Evaluate every N steps.") var evalSteps: Int?
  @Option(help: "no, steps or epoch.") var saveStrategy = "steps"
  @Option(help: "Checkpoint every N steps.") var saveSteps = 500
  @Option(help: "Keep at most N checkpoints.") var saveTotalLimit: Int?
  @Flag(help: "Reload the best checkpoint at the end.") var loadBestModelAtEnd = false
  @Option(help: "Metric for the best checkpoint (default eval_loss).") var metricForBestModel: String?
  @Option(help: "Whether a larger metric is better.") var greaterIsBetter: Bool?
  @Option(help: "Random seed.") var seed: UInt64 = 42
  @Flag(help: "Drop the last incomplete batch.") var dataloaderDropLast = false
  @Option(help: "A checkpoint-N directory, or 'latest'.") var resumeFromCheckpoint: String?

  func arguments() throws -> TrainingArguments {
    var a = TrainingArguments(outputDir: outputDir)
    a.overwriteOutputDir = overwriteOutputDir
    a.numTrainEpochs = numTrainEpochs
    a.maxSteps = maxSteps
    a.perDeviceTrainBatchSize = perDeviceTrainBatchSize
    a.perDeviceEvalBatchSize = perDeviceEvalBatchSize
    a.gradientAccumulationSteps = gradientAccumulationSteps
    a.learningRate = learningRate
    a.weightDecay = weightDecay
    a.adamBeta1 = adamBeta1
    a.adamBeta2 = adamBeta2
    a.adamEpsilon = adamEpsilon
    a.warmupSteps = warmupSteps
    a.warmupRatio = warmupRatio
    a.lrSchedulerType = lrSchedulerType
    a.maxGradNorm = maxGradNorm
    a.loggingSteps = loggingSteps
    guard let es = TrainingArguments.Strategy(rawValue: evalStrategy) else {
      throw ValidationError("--eval-strategy must be no, steps or epoch, got '\(evalStrategy)'")
    }
    guard let ss = TrainingArguments.Strategy(rawValue: saveStrategy) else {
      throw ValidationError("--save-strategy must be no, steps or epoch, got '\(saveStrategy)'")
    }
    a.evalStrategy = es
    a.evalSteps = evalSteps
    a.saveStrategy = ss
    a.saveSteps = saveSteps
    a.saveTotalLimit = saveTotalLimit
    a.loadBestModelAtEnd = loadBestModelAtEnd
    a.metricForBestModel = metricForBestModel
    a.greaterIsBetter = greaterIsBetter
    a.seed = seed
    a.dataloaderDropLast = dataloaderDropLast
    a.resumeFromCheckpoint = resumeFromCheckpoint
    try a.validate()
    return a
  }
}

/// `loom train gpt`: a GPT-2-architecture language model on text files.
struct TrainGPTCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gpt", abstract: "Train a GPT (GPT-2 architecture) on text files.")

  @Option(name: .long, parsing: .upToNextOption, help: "Text files to train on.") var data: [String]
  @Option(help: "A tokenizer.json, or a directory with tokenizer.json or vocab.json + merges.txt.") var tokenizer: String?
  @Flag(help: "Character-level vocabulary built from the data (the seeds' scratch GPT).") var char = false
  @Option(help: "Model shape: seed, tiny, gpt2, gpt2-medium.") var preset = "seed"
  @Option(help: "A config.json (GPT-2 fields) instead of a preset.") var config: String?
  @Option(help: "Tokens per training example (default: the model's n_positions).") var blockSize: Int?
  @Option(help: "Fraction of the text held out for evaluation.") var validationFraction: Double = 0.1
  @Option(help: "Samples to print at the end.") var samples = 1
  @Option(help: "Tokens per printed sample.") var sampleTokens = 200
  @OptionGroup var training: TrainingFlags

  func validate() throws {
    if char && tokenizer != nil { throw ValidationError("--char and --tokenizer contradict each other: pick one") }
    if !char && tokenizer == nil { throw ValidationError("pass --char for a character vocabulary or --tokenizer PATH") }
    if data.isEmpty { throw ValidationError("--data needs at least one text file") }
    if !(0..<1).contains(validationFraction) { throw ValidationError("--validation-fraction must be in [0, 1)") }
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // interleave with the progress bar on stderr
    let args = try training.arguments()
    var text = ""
    for path in data {
      guard let d = FileManager.default.contents(atPath: path) else {
        throw ValidationError("cannot read --data file \(path)")
      }
      text += String(decoding: d, as: UTF8.self)
      if !text.hasSuffix("\n") { text += "\n" }
    }
    guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
      throw ValidationError("the --data files contain no text")
    }
    let codec: TextCodec = char ? .chars(CharTokenizer(corpus: text)) : try TextCodec.load(tokenizer!)
    var modelConfig: GPT2Config
    if let config {
      guard let d = FileManager.default.contents(atPath: config) else { throw ValidationError("cannot read --config \(config)") }
      modelConfig = try ConfigFile.decode(GPT2Config.self, from: d, path: config)
    } else {
      modelConfig = try GPT2Config.preset(preset, vocabSize: codec.vocabSize)
    }
    if char { modelConfig.vocabSize = codec.vocabSize }  // the characters define the vocabulary
    // Special token ids must exist in the vocabulary (a character vocabulary has none).
    let inVocab = { (id: Int?) in id.flatMap { $0 < modelConfig.vocabSize ? $0 : nil } }
    modelConfig.bosTokenId = char ? nil : inVocab(modelConfig.bosTokenId ?? codec.eosTokenId)
    modelConfig.eosTokenId = char ? nil : inVocab(modelConfig.eosTokenId ?? codec.eosTokenId)
    modelConfig.padTokenId = inVocab(modelConfig.padTokenId)
    if modelConfig.vocabSize < codec.vocabSize {
      throw ValidationError("the model's vocab_size (\(modelConfig.vocabSize)) is smaller than the tokenizer's (\(codec.vocabSize))")
    }
    let block = blockSize ?? modelConfig.nPositions
    guard block <= modelConfig.nPositions else {
      throw ValidationError("--block-size \(block) exceeds the model's n_positions (\(modelConfig.nPositions))")
    }
    let ids = try codec.encode(text).map(Int32.init)
    let split = Int(Double(ids.count) * (1 - validationFraction))
    let trainSet = try CausalLMBlocks(tokens: Array(ids[..<split]), blockSize: block)
    let evalSet = validationFraction > 0 ? try? CausalLMBlocks(tokens: Array(ids[split...]), blockSize: block) : nil
    var trainingArgs = args
    if evalSet == nil { trainingArgs.evalStrategy = .no; trainingArgs.loadBestModelAtEnd = false }
    manualSeed(trainingArgs.seed)
    let model = try GPT2LMHeadModel(modelConfig)
    print("loom train gpt: \(modelConfig.nLayer) layers, \(modelConfig.nHead) heads, width \(modelConfig.nEmbd), block \(block), vocabulary \(codec.vocabSize); \(model.parameterCount()) parameters")
    print("data: \(ids.count) tokens → \(trainSet.count) training blocks, \(evalSet?.count ?? 0) evaluation blocks")
    let tokenizerSource = tokenizer
    let trainer = Trainer(
      model: model, args: trainingArgs, trainDataset: trainSet, evalDataset: evalSet,
      computeLoss: { b in model.loss(b.inputs, labels: b.labels).loss },
      saveModel: { m, dir in
        try (m as! GPT2LMHeadModel).save(to: dir)
        try codec.save(to: dir, source: tokenizerSource)
      })
    let state = try trainer.train()
    try model.save(to: trainingArgs.outputDir)
    try codec.save(to: trainingArgs.outputDir, source: tokenizerSource)
    if let plot = try LossPlot.write(history: state.logHistory, to: trainingArgs.outputDir + "/loss.png") {
      print("loss plot: \(plot)")
    }
    print("model saved to \(trainingArgs.outputDir)")
    model.eval()
    for s in 0..<samples {
      var g = GenerationConfig()
      g.maxNewTokens = min(sampleTokens, modelConfig.nPositions - 1)
      g.doSample = true
      g.topK = 0
      g.seed = trainingArgs.seed &+ UInt64(s)
      if let eos = codec.eosTokenId { g.eosTokenIds = [eos] }
      let prompt = [try codec.encode("\n").first ?? 0]
      let out = try Generation.generate(model, prompts: [prompt], config: g)
      print("--- sample \(s + 1) ---")
      print(codec.decode(Generation.continuation(out[0], promptLength: prompt.count, eosTokenIds: g.eosTokenIds)))
    }
  }
}
