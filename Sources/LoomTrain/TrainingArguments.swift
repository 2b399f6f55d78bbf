import Foundation
import LoomCore
import LoomOptim

/// Hugging Face's `TrainingArguments`, with the same names (snake_case in JSON and on
/// the command line) and meanings.
public struct TrainingArguments: Codable, Equatable, Sendable {
  public enum Strategy: String, Codable, Sendable { case no, steps, epoch }

  public var outputDir: String
  public var overwriteOutputDir = false
  public var numTrainEpochs: Double = 3
  /// Overrides epochs when > 0.
  public var maxSteps: Int = -1
  public var perDeviceTrainBatchSize = 8
  public var perDeviceEvalBatchSize = 8
  public var gradientAccumulationSteps = 1
  public var learningRate: Double = 5e-5
  public var weightDecay: Double = 0
  public var adamBeta1: Double = 0.9
  public var adamBeta2: Double = 0.999
  public var adamEpsilon: Double = 1e-8
  public var warmupSteps = 0
  public var warmupRatio: Double = 0
  public var lrSchedulerType = SchedulerType.linear
  public var maxGradNorm: Double = 1
  public var loggingSteps = 500
  public var evalStrategy = Strategy.no
  public var evalSteps: Int? = nil
  public var saveStrategy = Strategy.steps
  public var saveSteps = 500
  public var saveTotalLimit: Int? = nil
  public var loadBestModelAtEnd = false
  public var metricForBestModel: String? = nil
  public var greaterIsBetter: Bool? = nil
  public var seed: UInt64 = 42
  public var dataloaderDropLast = false
  /// Loom extension: collate the next batch on a worker thread while a step runs.
  public var dataloaderPrefetch = true
  /// The optimizer (see `OptimizerNames`): "adamw_torch" (AdamW with HF's decay groups),
  /// "sgd", "adafactor", or Loom's "adam" (torch.optim.Adam: L2 weight decay on every gradient).
  public var optim = OptimizerNames.adamwTorch
  /// Loom extension: momentum of optim "sgd".
  public var sgdMomentum: Double = 0
  public var resumeFromCheckpoint: String? = nil
  /// Loom extension (Keras's TerminateOnNaN; HF has no such option): stop at the first
  /// NaN or infinite training loss, with an error naming the step, and never checkpoint
  /// non-finite weights, so the last good checkpoint stays. Off, a NaN loss is logged (as
  /// null in JSON) and training goes on, as in HF.
  public var stopOnNaN = false
  /// HF's `logging_nan_inf_filter`: a NaN or infinite training loss is left out of the
  /// logged running loss (HF adds the running sum / (1 + steps since the last log) in its
  /// place), and NaN or infinite batches are left out of the evaluation loss when any batch
  /// is finite. Only logging changes, never the gradients. Off, such losses are logged as
  /// they are (null in JSON).
  public var loggingNanInfFilter = true
  /// HF's `gradient_checkpointing`: the Trainer calls `model.gradientCheckpointingEnable()`,
  /// so block activations are recomputed in backward (less memory, same results).
  public var gradientCheckpointing = false
  /// HF's `bf16`: forward and loss under `Autocast` to bfloat16 (torch's CPU op lists), float32
  /// master weights and optimizer. No loss scaling: bfloat16 has float32's exponent range.
  public var bf16 = false
  /// HF's `fp16`: forward and loss under `Autocast` to float16, float32 master weights, and a
  /// `GradScaler` (dynamic loss scaling; steps whose gradients overflow are skipped and reported).
  public var fp16 = false

  public init(outputDir: String) { self.outputDir = outputDir }

  enum CodingKeys: String, CodingKey {
    case outputDir = "output_dir", overwriteOutputDir = "overwrite_output_dir", numTrainEpochs = "num_train_epochs"
    case maxSteps = "max_steps", perDeviceTrainBatchSize = "per_device_train_batch_size"
    case perDeviceEvalBatchSize = "per_device_eval_batch_size", gradientAccumulationSteps = "gradient_accumulation_steps"
    case learningRate = "learning_rate", weightDecay = "weight_decay", adamBeta1 = "adam_beta1", adamBeta2 = "adam_beta2"
    case adamEpsilon = "adam_epsilon", warmupSteps = "warmup_steps", warmupRatio = "warmup_ratio"
    case lrSchedulerType = "lr_scheduler_type", maxGradNorm = "max_grad_norm", loggingSteps = "logging_steps"
    case evalStrategy = "eval_strategy", evalSteps = "eval_steps", saveStrategy = "save_strategy", saveSteps = "save_steps"
    case saveTotalLimit = "save_total_limit", loadBestModelAtEnd = "load_best_model_at_end"
    case metricForBestModel = "metric_for_best_model", greaterIsBetter = "greater_is_better", seed
    case dataloaderDropLast = "dataloader_drop_last", resumeFromCheckpoint = "resume_from_checkpoint"
    case dataloaderPrefetch = "dataloader_prefetch", optim, sgdMomentum = "sgd_momentum"
    case stopOnNaN = "stop_on_nan", loggingNanInfFilter = "logging_nan_inf_filter"
    case gradientCheckpointing = "gradient_checkpointing"
    case bf16, fp16
  }

  /// The autocast type `bf16` / `fp16` ask for (nil: float32 training).
  public var mixedPrecision: DType? { bf16 ? .bfloat16 : (fp16 ? .float16 : nil) }

  /// Loom's three original optimizers (every accepted name: `OptimizerNames.allCases`).
  public static let optimizers: [OptimizerNames] = [.adamwTorch, .adam, .sgd]

  /// The metric that picks the best checkpoint ("eval_loss" unless set) and its direction.
  public var bestMetric: (name: String, greaterIsBetter: Bool) {
    var name = metricForBestModel ?? "loss"
    if !name.hasPrefix("eval_") { name = "eval_" + name }
    return (name, greaterIsBetter ?? !(name.hasSuffix("loss") || name.hasSuffix("perplexity")))
  }

  /// Rejects contradictory or out-of-range settings, naming the field at fault. `name`
  /// spells a field (HF's snake_case name) as the caller shows it: the CLI passes its
  /// flag's spelling (`--warmup-steps`). Ranges follow torch's optimizers (betas in
  /// [0, 1), eps and weight decay >= 0); every real number must be finite.
  public func validate(naming name: (String) -> String = { $0 }) throws {
    func fail(_ field: String, _ rule: String, _ value: Any) -> LoomError {
      LoomError("\(name(field)) must be \(rule), got \(value)")
    }
    func atLeast(_ field: String, _ value: Int, _ low: Int) throws {
      if value < low { throw fail(field, ">= \(low)", value) }
    }
    func nonNegative(_ field: String, _ value: Double) throws {
      if !(value >= 0 && value.isFinite) { throw fail(field, "a finite number >= 0", value) }
    }
    // Bounded so epochs × steps per epoch stays a countable number of steps.
    if !(0...1e9).contains(numTrainEpochs) { throw fail("num_train_epochs", "a number in [0, 1e9]", numTrainEpochs) }
    if maxSteps < -1 { throw fail("max_steps", "> 0, or -1 to train num_train_epochs", maxSteps) }
    if maxSteps <= 0 && numTrainEpochs <= 0 {
      throw LoomError("set \(name("max_steps")) > 0 or \(name("num_train_epochs")) > 0")
    }
    try atLeast("per_device_train_batch_size", perDeviceTrainBatchSize, 1)
    try atLeast("per_device_eval_batch_size", perDeviceEvalBatchSize, 1)
    try atLeast("gradient_accumulation_steps", gradientAccumulationSteps, 1)
    try nonNegative("learning_rate", learningRate)
    if lrSchedulerType == .polynomial && learningRate <= 1e-7 {
      throw LoomError(
        "\(name("lr_scheduler_type")) polynomial decays to 1e-7: \(name("learning_rate")) must be larger, got \(learningRate)")
    }
    try nonNegative("weight_decay", weightDecay)
    for (field, beta) in [("adam_beta1", adamBeta1), ("adam_beta2", adamBeta2)] where !(beta >= 0 && beta < 1) {
      throw fail(field, "in [0, 1)", beta)
    }
    try nonNegative("adam_epsilon", adamEpsilon)
    try nonNegative("sgd_momentum", sgdMomentum)
    try atLeast("warmup_steps", warmupSteps, 0)
    if !(0...1).contains(warmupRatio) { throw fail("warmup_ratio", "in [0, 1]", warmupRatio) }
    try nonNegative("max_grad_norm", maxGradNorm)
    try atLeast("logging_steps", loggingSteps, 1)
    if let e = evalSteps { try atLeast("eval_steps", e, 1) }
    try atLeast("save_steps", saveSteps, 1)
    if let l = saveTotalLimit { try atLeast("save_total_limit", l, 1) }
    if bf16 && fp16 {
      throw LoomError("at most one of \(name("bf16")) and \(name("fp16")) can be set (they pick the autocast type)")
    }
    if let m = metricForBestModel, m.isEmpty { throw fail("metric_for_best_model", "a metric name", "''") }
    if loadBestModelAtEnd {
      let flag = name("load_best_model_at_end")
      if evalStrategy == .no { throw LoomError("\(flag) needs an \(name("eval_strategy")) (steps or epoch)") }
      if evalStrategy != saveStrategy {
        throw LoomError(
          "\(flag) needs \(name("save_strategy")) (\(saveStrategy.rawValue)) to match \(name("eval_strategy")) (\(evalStrategy.rawValue))")
      }
      if evalStrategy == .steps && saveSteps % (evalSteps ?? loggingSteps) != 0 {
        throw LoomError(
          "\(flag) needs \(name("save_steps")) (\(saveSteps)) to be a multiple of \(name("eval_steps")) (\(evalSteps ?? loggingSteps))")
      }
    }
  }
}
