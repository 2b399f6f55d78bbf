import ArgumentParser
import Foundation
import LoomCore
import LoomOptim
import LoomTrain

/// The training flags every `loom train …` command shares: Hugging Face
/// `TrainingArguments` names (--learning-rate, --num-train-epochs, …) with short aliases
/// (--lr, --epochs, --batch-size, and the autoencoders' --optimizer and --momentum), plus
/// --model (start from a saved model) and --device. Unset flags take the command's
/// defaults (`TrainingDefaults`), which the help lists where they differ from
/// TrainingArguments'.
struct TrainingFlags: ParsableArguments {
  @Option(help: "Directory for the model, checkpoints, metrics and plots.") var outputDir: String
  @Flag(help: "Reuse a non-empty output directory (its checkpoints and logs are replaced).")
  var overwriteOutputDir = false
  @Option(
    help:
      "Start from a saved model directory (Loom's, or one saved by Hugging Face's save_pretrained)."
  )
  var model: String?
  @Option(help: "Where to train: cpu or emulated (Loom's test device).") var device = "cpu"

  @Option(
    parsing: .unconditional,
    help:
      "Epochs, may be fractional; ignored when --max-steps > 0 (TrainingArguments: 3; gpt: 1; ae/dae/vae: 10)."
  )
  var numTrainEpochs: Double?
  @Option(parsing: .unconditional, help: "Whole epochs: short for --num-train-epochs.") var epochs: Int?
  @Option(parsing: .unconditional, help: "Total optimizer steps; overrides epochs when > 0.") var maxSteps: Int?
  @Option(parsing: .unconditional, help: "Training batch size (TrainingArguments and gpt: 8; ae/dae: 32; vae: 128).")
  var perDeviceTrainBatchSize: Int?
  @Option(parsing: .unconditional, help: "Short for --per-device-train-batch-size.") var batchSize: Int?
  @Option(parsing: .unconditional, help: "Evaluation batch size (TrainingArguments and gpt: 8; ae/dae/vae: 500).")
  var perDeviceEvalBatchSize: Int?
  @Option(parsing: .unconditional, help: "Micro-batches per optimizer step.") var gradientAccumulationSteps: Int?
  @Option(
    parsing: .unconditional,
    help:
      "Peak learning rate (TrainingArguments: 5e-5; gpt: 3e-4; ae/dae/vae: 1e-3, the seeds used 1e-1)."
  )
  var learningRate: Double?
  @Option(parsing: .unconditional, help: "Short for --learning-rate.") var lr: Double?
  @Option(
    parsing: .unconditional,
    help:
      "Weight decay, not on biases and norms except for adam (TrainingArguments: 0; gpt: 0.01; ae/dae: 1e-8; vae: 0)."
  )
  var weightDecay: Double?
  @Option(parsing: .unconditional, help: "Adam β₁ (0.9).") var adamBeta1: Double?
  @Option(parsing: .unconditional, help: "Adam β₂ (0.999).") var adamBeta2: Double?
  @Option(parsing: .unconditional, help: "Adam ε (1e-8).") var adamEpsilon: Double?
  @Option(
    help:
      "Optimizer: \(OptimizerNames.allCases.map(\.rawValue).joined(separator: ", ")) (TrainingArguments and gpt: adamw_torch; ae/dae/vae: adam)."
  )
  var optim: String?
  @Option(help: "adam, adamw or sgd: the autoencoders' spelling of --optim.") var optimizer: String?
  @Option(parsing: .unconditional, help: "Momentum of optim sgd.") var sgdMomentum: Double?
  @Option(parsing: .unconditional, help: "Short for --sgd-momentum.") var momentum: Double?
  @Option(parsing: .unconditional, help: "Linear warmup steps.") var warmupSteps: Int?
  @Option(parsing: .unconditional, help: "Warmup as a fraction of training.") var warmupRatio: Double?
  @Option(
    help:
      "\(SchedulerType.allCases.map(\.rawValue).joined(separator: ", ")) (TrainingArguments and gpt: linear; ae/dae/vae: constant)."
  )
  var lrSchedulerType: String?
  @Option(parsing: .unconditional, help: "Gradient clipping norm, 0 = off (TrainingArguments and gpt: 1; ae/dae/vae: 0).")
  var maxGradNorm: Double?
  @Option(parsing: .unconditional, help: "Log every N steps (TrainingArguments: 500; gpt: 50; ae/dae/vae: once per epoch).")
  var loggingSteps: Int?
  @Option(help: "no, steps or epoch (TrainingArguments: no; gpt: steps; ae/dae/vae: epoch).")
  var evalStrategy: String?
  @Option(parsing: .unconditional, help: "Evaluate every N steps (default: --logging-steps).") var evalSteps: Int?
  @Option(help: "no, steps or epoch (TrainingArguments and gpt: steps; ae/dae/vae: epoch).")
  var saveStrategy: String?
  @Option(parsing: .unconditional, help: "Checkpoint every N steps.") var saveSteps: Int?
  @Option(parsing: .unconditional, help: "Keep at most N checkpoints (TrainingArguments and gpt: all; ae/dae/vae: 2).")
  var saveTotalLimit: Int?
  @Flag(
    inversion: .prefixedNo,
    help: "Reload the best checkpoint at the end (default: on for encoder fine-tuning unless --eval-strategy no).")
  var loadBestModelAtEnd: Bool?
  @Option(help: "Metric for the best checkpoint (default eval_loss).") var metricForBestModel:
    String?
  @Option(help: "Whether a larger metric is better.") var greaterIsBetter: Bool?
  @Option(
    parsing: .unconditional,
    help:
      "Random seed: weights, shuffling, noise, sampling (TrainingArguments and gpt: 42; ae/dae/vae: 0)."
  )
  var seed: UInt64?
  @Flag(help: "Drop the last incomplete batch.") var dataloaderDropLast = false
  @Option(help: "A checkpoint-N directory, or 'latest'.") var resumeFromCheckpoint: String?
  @Flag(
    name: .customLong("stop-on-nan"),
    help:
      "Stop at the first NaN or infinite loss with an error naming the step, keeping the last good checkpoint (default: log nan, as null in the JSON logs, and go on)."
  )
  var stopOnNaN = false
  @Option(
    help:
      "true or false: leave NaN and infinite losses out of the logged training and evaluation loss (TrainingArguments: true; the gradients are unchanged)."
  )
  var loggingNanInfFilter: Bool?
  @Option(
    parsing: .unconditional,
    help: "Under mpirun / loom launch: seconds a rank waits for the others before the run stops with an error (ddp_timeout: 1800).")
  var ddpTimeout: Double?
  @Option(
    parsing: .unconditional,
    help: "Under mpirun / loom launch: 1 shards the AdamW moments over the ranks (DeepSpeed ZeRO stage 1); 0 (default) keeps them whole on every rank.")
  var zeroStage: Int?
  @Flag(help: "Recompute each transformer block's activations in backward: less memory, same results, ~1.3x step time.")
  var gradientCheckpointing = false
  @Flag(help: "Mixed precision (HF's bf16): forward and loss under bfloat16 autocast, float32 master weights.")
  var bf16 = false
  @Flag(help: "Mixed precision (HF's fp16): forward and loss under float16 autocast, float32 master weights, dynamic loss scaling (overflowing steps are skipped and reported).")
  var fp16 = false

  /// The flag for a TrainingArguments field, spelled as given (an alias when the user
  /// passed the alias), so errors name what was typed.
  func flagName(_ field: String) -> String {
    switch field {
    case "num_train_epochs" where epochs != nil: return "--epochs"
    case "per_device_train_batch_size" where batchSize != nil: return "--batch-size"
    case "learning_rate" where lr != nil: return "--lr"
    case "optim" where optimizer != nil: return "--optimizer"
    case "sgd_momentum" where momentum != nil: return "--momentum"
    default: return "--" + field.replacingOccurrences(of: "_", with: "-")
    }
  }

  /// Alias pairs may not both be given.
  func checkAliases() throws {
    let pairs: [(String, Bool, String, Bool)] = [
      ("--num-train-epochs", numTrainEpochs != nil, "--epochs", epochs != nil),
      (
        "--per-device-train-batch-size", perDeviceTrainBatchSize != nil, "--batch-size",
        batchSize != nil
      ),
      ("--learning-rate", learningRate != nil, "--lr", lr != nil),
      ("--optim", optim != nil, "--optimizer", optimizer != nil),
      ("--sgd-momentum", sgdMomentum != nil, "--momentum", momentum != nil),
    ]
    for (a, hasA, b, hasB) in pairs where hasA && hasB {
      throw ValidationError("\(b) is short for \(a): pass one of them")
    }
    if let e = epochs, e < 1 { throw ValidationError("--epochs must be at least 1, got \(e)") }
    if let b = batchSize, b < 1 {
      throw ValidationError("--batch-size must be at least 1, got \(b)")
    }
    if let lr, !(lr > 0) { throw ValidationError("--lr must be > 0, got \(lr)") }
    if let o = optimizer, !["adam", "adamw", "sgd"].contains(o) {
      throw ValidationError(
        "--optimizer must be adam, adamw or sgd, got '\(o)' (--optim also takes \(OptimizerNames.allCases.map(\.rawValue).joined(separator: ", ")))"
      )
    }
  }

  func strategy(_ value: String?, _ flag: String) throws -> TrainingArguments.Strategy? {
    guard let value else { return nil }
    guard let s = TrainingArguments.Strategy(rawValue: value) else {
      throw ValidationError("\(flag) must be no, steps or epoch, got '\(value)'")
    }
    return s
  }

  /// The command's defaults with every given flag applied, validated. Errors are
  /// `ValidationError`s naming the flag, so they print the subcommand's usage.
  func arguments(defaults: TrainingArguments) throws -> TrainingArguments {
    try checkAliases()
    var a = defaults
    a.outputDir = outputDir
    a.overwriteOutputDir = overwriteOutputDir
    if let v = numTrainEpochs ?? epochs.map(Double.init) { a.numTrainEpochs = v }
    if let v = maxSteps { a.maxSteps = v }
    if let v = perDeviceTrainBatchSize ?? batchSize { a.perDeviceTrainBatchSize = v }
    if let v = perDeviceEvalBatchSize { a.perDeviceEvalBatchSize = v }
    if let v = gradientAccumulationSteps { a.gradientAccumulationSteps = v }
    if let v = learningRate ?? lr { a.learningRate = v }
    if let v = weightDecay { a.weightDecay = v }
    if let v = adamBeta1 { a.adamBeta1 = v }
    if let v = adamBeta2 { a.adamBeta2 = v }
    if let v = adamEpsilon { a.adamEpsilon = v }
    func parsed<T>(_ flag: String, _ parse: () throws -> T) throws -> T {
      do { return try parse() } catch let e as LoomError { throw ValidationError("\(flag): \(e.message)") }
    }
    if let v = optim { a.optim = try parsed("--optim") { try OptimizerNames(parsing: v) } }
    if let v = optimizer { a.optim = try parsed("--optimizer") { try OptimizerNames(parsing: v) } }
    if let v = lrSchedulerType {
      a.lrSchedulerType = try parsed("--lr-scheduler-type") { try SchedulerType(parsing: v) }
    }
    if let v = sgdMomentum ?? momentum { a.sgdMomentum = v }
    if let v = warmupSteps { a.warmupSteps = v }
    if let v = warmupRatio { a.warmupRatio = v }
    if let v = maxGradNorm { a.maxGradNorm = v }
    if let v = loggingSteps { a.loggingSteps = v }
    if let v = try strategy(evalStrategy, "--eval-strategy") { a.evalStrategy = v }
    if let v = evalSteps { a.evalSteps = v }
    if let v = try strategy(saveStrategy, "--save-strategy") { a.saveStrategy = v }
    if let v = saveSteps { a.saveSteps = v }
    if let v = saveTotalLimit { a.saveTotalLimit = v }
    if let v = loadBestModelAtEnd {
      a.loadBestModelAtEnd = v
    } else if evalStrategy != nil && a.evalStrategy == .no {
      // An explicit --eval-strategy no switches off a command default that needs evaluation.
      a.loadBestModelAtEnd = false
    }
    if let v = metricForBestModel { a.metricForBestModel = v }
    if let v = greaterIsBetter { a.greaterIsBetter = v }
    if let v = seed { a.seed = v }
    if dataloaderDropLast { a.dataloaderDropLast = true }
    if let v = resumeFromCheckpoint { a.resumeFromCheckpoint = v }
    if stopOnNaN { a.stopOnNaN = true }
    if let v = loggingNanInfFilter { a.loggingNanInfFilter = v }
    if gradientCheckpointing { a.gradientCheckpointing = true }
    if bf16 { a.bf16 = true }
    if fp16 { a.fp16 = true }
    do {
      try DistributedLaunch.configure(timeout: ddpTimeout, zeroStage: zeroStage)
      try a.validate(naming: flagName)
      try Trainer.checkOutputDirectory(a)
      _ = try Trainer.resumeCheckpoint(a)
    } catch let e as LoomError {
      throw ValidationError(e.message)
    }
    return a
  }

  /// The checks every `loom train` command runs before reading data: the training flags over the
  /// command's defaults, --device and --model.
  func validate(defaults: TrainingArguments) throws {
    _ = try arguments(defaults: defaults)
    _ = try parsedDevice()
    try checkModelDirectory()
  }

  /// --device, parsed (a `ValidationError` naming the flag when unknown).
  func parsedDevice() throws -> Device {
    do { return try Device(parsing: device) } catch { throw ValidationError("--device: \(error)") }
  }

  /// Makes --device the default for every tensor created from here on (data, model).
  func useDevice() throws -> Device {
    let d = try parsedDevice()
    Device.default = d
    return d
  }

  /// --model, checked to be a directory with weights.
  func checkModelDirectory() throws {
    guard let model else { return }
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: model, isDirectory: &isDir), isDir.boolValue else {
      throw ValidationError(
        "--model \(model) is not a directory (a saved model: config.json and model.safetensors)")
    }
    let fm = FileManager.default
    guard
      fm.fileExists(atPath: model + "/model.safetensors")
        || fm.fileExists(atPath: model + "/model.safetensors.index.json")
    else {
      throw ValidationError("--model \(model) has no model.safetensors")
    }
  }
}
