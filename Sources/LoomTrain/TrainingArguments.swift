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
  }

  /// Loom's three original optimizers (every accepted name: `OptimizerNames.allCases`).
  public static let optimizers: [OptimizerNames] = [.adamwTorch, .adam, .sgd]

  /// The metric that picks the best checkpoint ("eval_loss" unless set) and its direction.
  public var bestMetric: (name: String, greaterIsBetter: Bool) {
    var name = metricForBestModel ?? "loss"
    if !name.hasPrefix("eval_") { name = "eval_" + name }
    return (name, greaterIsBetter ?? !(name.hasSuffix("loss") || name.hasSuffix("perplexity")))
  }

  /// Rejects contradictory or out-of-range settings with the flag at fault.
  public func validate() throws {
    if perDeviceTrainBatchSize < 1 { throw LoomError("per_device_train_batch_size must be >= 1, got \(perDeviceTrainBatchSize)") }
    if perDeviceEvalBatchSize < 1 { throw LoomError("per_device_eval_batch_size must be >= 1, got \(perDeviceEvalBatchSize)") }
    if gradientAccumulationSteps < 1 { throw LoomError("gradient_accumulation_steps must be >= 1, got \(gradientAccumulationSteps)") }
    if maxSteps <= 0 && numTrainEpochs <= 0 { throw LoomError("set max_steps > 0 or num_train_epochs > 0") }
    if lrSchedulerType == .polynomial && learningRate <= 1e-7 {
      throw LoomError("lr_scheduler_type polynomial decays to 1e-7: learning_rate must be larger, got \(learningRate)")
    }
    if sgdMomentum < 0 { throw LoomError("sgd_momentum must be >= 0, got \(sgdMomentum)") }
    if learningRate < 0 { throw LoomError("learning_rate must be >= 0, got \(learningRate)") }
    if !(0...1).contains(warmupRatio) { throw LoomError("warmup_ratio must be in [0, 1], got \(warmupRatio)") }
    if loggingSteps < 1 { throw LoomError("logging_steps must be >= 1, got \(loggingSteps)") }
    if saveStrategy == .steps && saveSteps < 1 { throw LoomError("save_steps must be >= 1, got \(saveSteps)") }
    if let l = saveTotalLimit, l < 1 { throw LoomError("save_total_limit must be >= 1, got \(l)") }
    if loadBestModelAtEnd {
      if evalStrategy == .no { throw LoomError("load_best_model_at_end needs an eval_strategy (steps or epoch)") }
      if evalStrategy != saveStrategy {
        throw LoomError("load_best_model_at_end needs save_strategy (\(saveStrategy.rawValue)) to match eval_strategy (\(evalStrategy.rawValue))")
      }
      if evalStrategy == .steps && saveSteps % (evalSteps ?? loggingSteps) != 0 {
        throw LoomError("load_best_model_at_end needs save_steps (\(saveSteps)) to be a multiple of eval_steps (\(evalSteps ?? loggingSteps))")
      }
    }
  }
}
