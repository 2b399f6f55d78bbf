import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomOptim

/// A loss with named parts logged beside it (e.g. a VAE's reconstruction and KL
/// terms): training logs `name`, evaluation `eval_name`, each a mean over examples.
public struct LossOutput {
  public var loss: Tensor
  public var parts: [String: Tensor]
  public init(loss: Tensor, parts: [String: Tensor] = [:]) {
    self.loss = loss
    self.parts = parts
  }

  /// The same values cut from the autograd graph.
  public func detached() -> LossOutput {
    LossOutput(loss: loss.detach(), parts: parts.mapValues { $0.detach() })
  }
}

/// Hugging Face's `Trainer`: AdamW with decay groups (or Adam, SGD, Adafactor), LR
/// schedule with warmup, gradient accumulation and clipping, logging, evaluation,
/// checkpoints laid out as `checkpoint-N/` (rotated by save_total_limit, written
/// atomically), exact resume and loading the best model at the end.
///
/// The loop is made of HF's overridable pieces, so a subclass changes one of them
/// (GANs, distillation, DPO, data parallelism) instead of copying the loop:
/// `computeLoss(model:inputs:)`, `trainingStep(model:inputs:)`, `createOptimizer()`,
/// `createScheduler(numTrainingSteps:optimizer:)`, `optimizerStep(optimizer:scheduler:)`,
/// `evaluationLoop`, `predictionStep`, `evaluate`, `predict`, `saveModel`, `log`.
/// Callbacks (`TrainerCallback`) see HF's events in HF's order and steer the loop
/// through `TrainerControl`.
open class Trainer {
  public let model: Module
  public let args: TrainingArguments
  public let trainDataset: any TrainingDataset
  public let evalDataset: (any TrainingDataset)?
  /// HF's `compute_metrics`: named metrics from the evaluation predictions and labels
  /// (collected with `predictionStep`).
  public let computeMetrics: ((EvalPrediction) -> [String: Double])?
  /// Loss of a batch with its named parts (each a mean over the batch's examples).
  let lossFunction: ((Batch) -> LossOutput)?
  /// Loss and logits from one forward pass (evaluation then runs the model once per batch).
  let lossAndLogitsFunction: ((Batch) -> (loss: LossOutput, logits: Tensor))?
  /// Logits only (older API: evaluation with metrics runs the model a second time for the loss).
  let logitsFunction: ((Batch) -> Tensor)?
  let saveFunction: ((Module, String) throws -> Void)?

  /// HF's `add_callback`.
  public func addCallback(_ callback: TrainerCallback) { callbacks.append(callback) }

  /// Callbacks after the built-in flow and progress ones (HF's `callbacks` argument).
  public var callbacks: [TrainerCallback] {
    get { Array(callbackHandler.callbacks.dropFirst(builtInCallbacks)) }
    set {
      callbackHandler.callbacks =
        Array(callbackHandler.callbacks.prefix(builtInCallbacks)) + newValue
    }
  }
  /// HF's `callback_handler`: a subclass that overrides a piece fires its events here
  /// (e.g. `callbackHandler.onPreOptimizerStep(args, state, &control)`).
  public let callbackHandler: CallbackHandler
  let builtInCallbacks = 2
  /// Called with each log record (also appended to output_dir/`logFileName`).
  public var onLog: (([String: Double]) -> Void)? = nil
  /// The JSON-lines log inside output_dir.
  public var logFileName = "metrics.jsonl"
  /// Throughput in the progress bar and logs: tokens (elements of the inputs) or samples (rows).
  public var throughputUnit = ThroughputUnit.tokens {
    didSet { callbackHandler.callbacks[1] = ProgressCallback(unit: throughputUnit) }
  }
  /// Whether evaluation reports `eval_perplexity` = exp(eval_loss): only meaningful for a
  /// language model's token cross-entropy. Defaults to whether the model's type is named
  /// like one (…LMHeadModel, …ForCausalLM, …ForMaskedLM); `loom train gpt` sets it.
  public var isLanguageModel: Bool
  public internal(set) var state = TrainerState()
  /// HF's `self.control`: the flags callbacks set.
  public var control = TrainerControl()
  /// The optimizer and schedule of the current `train()` (nil before).
  public internal(set) var optimizer: (any Optimizer)?
  public internal(set) var lrScheduler: LRScheduler?
  /// The loss scaler of an `fp16` run (nil otherwise); `skippedSteps` counts the optimizer
  /// steps skipped for inf/NaN gradients.
  public internal(set) var gradScaler: GradScaler?
  /// The fp16 loss scaler's starting scale (accelerate's `GradScalerKwargs(init_scale=)`; torch's
  /// default 2^16, which typically overflows and backs off in the first steps).
  public var gradScalerInitScale: Double = 65536
  /// Data parallelism (nil: one process). Each rank trains on its shard with gradients
  /// averaged across ranks; rank 0 alone logs, shows progress, evaluates and saves.
  public var distributed: DistributedContext? = Trainer.defaultDistributed
  /// The context every Trainer starts with: a launcher sets it once (the CLI under
  /// `mpirun`), so any trainer the process builds joins the run.
  nonisolated(unsafe) public static var defaultDistributed: DistributedContext? = nil

  public convenience init(
    model: Module, args: TrainingArguments, trainDataset: any TrainingDataset,
    evalDataset: (any TrainingDataset)? = nil,
    computeLoss: @escaping (Batch) -> Tensor,
    computeMetrics: ((EvalPrediction) -> [String: Double])? = nil,
    predictionStep: ((Batch) -> Tensor)? = nil, saveModel: ((Module, String) throws -> Void)? = nil,
    callbacks: [TrainerCallback] = []
  ) {
    self.init(
      model: model, args: args, trainDataset: trainDataset, evalDataset: evalDataset,
      computeLossOutput: { LossOutput(loss: computeLoss($0)) }, computeMetrics: computeMetrics,
      predictionStep: predictionStep,
      saveModel: saveModel, callbacks: callbacks)
  }

  /// A trainer whose loss comes with named parts to log (see `LossOutput`).
  public convenience init(
    model: Module, args: TrainingArguments, trainDataset: any TrainingDataset,
    evalDataset: (any TrainingDataset)? = nil,
    computeLossOutput: @escaping (Batch) -> LossOutput,
    computeMetrics: ((EvalPrediction) -> [String: Double])? = nil,
    predictionStep: ((Batch) -> Tensor)? = nil, saveModel: ((Module, String) throws -> Void)? = nil,
    callbacks: [TrainerCallback] = []
  ) {
    self.init(
      model: model, args: args, trainDataset: trainDataset, evalDataset: evalDataset,
      loss: computeLossOutput,
      lossAndLogits: nil, logits: predictionStep, computeMetrics: computeMetrics,
      saveModel: saveModel, callbacks: callbacks)
  }

  /// A trainer whose closure returns the loss and the logits of one forward pass:
  /// training uses the loss, evaluation and `predict` both, running the model once per batch.
  public convenience init(
    model: Module, args: TrainingArguments, trainDataset: any TrainingDataset,
    evalDataset: (any TrainingDataset)? = nil,
    lossAndLogits: @escaping (Batch) -> (loss: LossOutput, logits: Tensor),
    computeMetrics: ((EvalPrediction) -> [String: Double])? = nil,
    saveModel: ((Module, String) throws -> Void)? = nil,
    callbacks: [TrainerCallback] = []
  ) {
    self.init(
      model: model, args: args, trainDataset: trainDataset, evalDataset: evalDataset, loss: nil,
      lossAndLogits: lossAndLogits, logits: nil, computeMetrics: computeMetrics,
      saveModel: saveModel, callbacks: callbacks)
  }

  /// For subclasses that override `computeLoss(model:inputs:)` (and `predictionStep` for
  /// logits) instead of passing closures.
  public init(
    model: Module, args: TrainingArguments, trainDataset: any TrainingDataset,
    evalDataset: (any TrainingDataset)? = nil,
    computeMetrics: ((EvalPrediction) -> [String: Double])? = nil, callbacks: [TrainerCallback] = []
  ) {
    self.model = model
    self.args = args
    self.trainDataset = trainDataset
    self.evalDataset = evalDataset
    self.computeMetrics = computeMetrics
    lossFunction = nil
    lossAndLogitsFunction = nil
    logitsFunction = nil
    saveFunction = nil
    isLanguageModel = Self.looksLikeLanguageModel(model)
    callbackHandler = CallbackHandler([DefaultFlowCallback(), ProgressCallback()] + callbacks)
    callbackHandler.onInitEnd(args, state, &control)
  }

  init(
    model: Module, args: TrainingArguments, trainDataset: any TrainingDataset,
    evalDataset: (any TrainingDataset)?,
    loss: ((Batch) -> LossOutput)?, lossAndLogits: ((Batch) -> (loss: LossOutput, logits: Tensor))?,
    logits: ((Batch) -> Tensor)?, computeMetrics: ((EvalPrediction) -> [String: Double])?,
    saveModel: ((Module, String) throws -> Void)?, callbacks: [TrainerCallback]
  ) {
    self.model = model
    self.args = args
    self.trainDataset = trainDataset
    self.evalDataset = evalDataset
    self.computeMetrics = computeMetrics
    lossFunction = loss
    lossAndLogitsFunction = lossAndLogits
    logitsFunction = logits
    saveFunction = saveModel
    isLanguageModel = Self.looksLikeLanguageModel(model)
    callbackHandler = CallbackHandler([DefaultFlowCallback(), ProgressCallback()] + callbacks)
    callbackHandler.onInitEnd(args, state, &control)
  }

  static func looksLikeLanguageModel(_ model: Module) -> Bool {
    let name = String(describing: type(of: model))
    return name.hasSuffix("LMHeadModel") || name.contains("ForCausalLM")
      || name.contains("ForMaskedLM")
  }

  /// The context when more than one rank trains.
  var activeDistributed: DistributedContext? { distributed.flatMap { $0.worldSize > 1 ? $0 : nil } }

  /// HF's `is_world_process_zero`: whether this process logs, evaluates and saves.
  public func isWorldProcessZero() -> Bool { activeDistributed?.isMainProcess ?? true }

  /// This rank's shard of each epoch (nil in one process).
  var trainSampler: DistributedSampler? {
    activeDistributed.flatMap {
      try? DistributedSampler(numReplicas: $0.worldSize, rank: $0.rank, dropLast: args.dataloaderDropLast)
    }
  }

  var batchesPerEpoch: Int {
    let n = trainSampler?.numSamples(trainDataset.count) ?? trainDataset.count
    let b = args.perDeviceTrainBatchSize
    return args.dataloaderDropLast ? n / b : (n + b - 1) / b
  }

  var stepsPerEpoch: Int {
    max(1, (batchesPerEpoch + args.gradientAccumulationSteps - 1) / args.gradientAccumulationSteps)
  }

  public var totalSteps: Int {
    args.maxSteps > 0
      ? args.maxSteps : Int((args.numTrainEpochs * Double(stepsPerEpoch)).rounded(.up))
  }

  /// The training batches: a permutation seeded by (seed, epoch), so resuming
  /// reproduces the order.
  open func trainLoader() throws -> DataLoader {
    try DataLoader(
      trainDataset, batchSize: args.perDeviceTrainBatchSize, shuffle: true, seed: args.seed,
      dropLast: args.dataloaderDropLast,
      prefetch: args.dataloaderPrefetch, sampler: trainSampler)
  }

  // MARK: HF's overridable pieces (defaults in the Trainer+… files)

  /// Runs training; returns the final state. HF's inner loop: per epoch, per micro-batch
  /// `trainingStep`; every `gradient_accumulation_steps` micro-batches `optimizerStep`,
  /// then log / evaluate / save as the control flags say.
  @discardableResult
  open func train() throws -> TrainerState { try runTraining() }

  /// HF's `compute_loss`: the loss of a batch (mean over its examples) with named parts.
  /// The default calls the closure the trainer was built with.
  open func computeLoss(model: Module, inputs: Batch) -> LossOutput { defaultComputeLoss(inputs) }

  /// HF's `training_step`: forward, backward (scaled for gradient accumulation); returns
  /// the unscaled loss, detached, for logging.
  open func trainingStep(model: Module, inputs: Batch) throws -> LossOutput {
    try defaultTrainingStep(model: model, inputs: inputs)
  }

  /// HF's `create_optimizer`: `args.optim` over HF's weight-decay groups.
  open func createOptimizer() throws -> any Optimizer { try defaultCreateOptimizer() }

  /// HF's `create_scheduler`: `args.lr_scheduler_type` with warmup.
  open func createScheduler(numTrainingSteps: Int, optimizer: any Optimizer) throws -> LRScheduler {
    try defaultCreateScheduler(numTrainingSteps: numTrainingSteps, optimizer: optimizer)
  }

  /// One optimizer update: clip gradients, on_pre_optimizer_step, step,
  /// on_optimizer_step, scheduler step, zero_grad.
  open func optimizerStep(optimizer: any Optimizer, scheduler: LRScheduler) throws {
    defaultOptimizerStep(optimizer: optimizer, scheduler: scheduler)
  }

  /// HF's `prediction_step`: loss (nil without labels), logits (nil when
  /// `predictionLossOnly` or none can be computed) and labels of one batch.
  open func predictionStep(model: Module, inputs: Batch, predictionLossOnly: Bool)
    -> PredictionStepOutput
  {
    defaultPredictionStep(model: model, inputs: inputs, predictionLossOnly: predictionLossOnly)
  }

  /// HF's `evaluation_loop`: every batch of `dataset` through `predictionStep`; mean loss
  /// (and parts), perplexity for language models, `computeMetrics`, keys prefixed with
  /// `metricKeyPrefix`.
  open func evaluationLoop(
    _ dataset: any TrainingDataset, description: String, predictionLossOnly: Bool,
    metricKeyPrefix: String
  ) throws -> EvalLoopOutput {
    try defaultEvaluationLoop(
      dataset, description: description, predictionLossOnly: predictionLossOnly,
      metricKeyPrefix: metricKeyPrefix)
  }

  /// Metrics over the evaluation set (`eval_loss`, `eval_perplexity` for language
  /// models, parts, computeMetrics) with `epoch` and `step`; [:] without one.
  open func evaluate() -> [String: Double] { defaultEvaluate() }

  /// Predictions, labels and `test_` metrics over a dataset, like HF's `predict`.
  open func predict(_ dataset: any TrainingDataset) throws -> (
    predictions: Tensor, labelIds: Tensor, metrics: [String: Double]
  ) {
    try defaultPredict(dataset)
  }

  /// HF's `save_model`: the model's files (weights, config, tokenizer) into `outputDir`.
  open func saveModel(_ outputDir: String) throws { try defaultSaveModel(outputDir) }

  /// HF's `log`: records a log (log_history, the JSON-lines file, on_log, `onLog`).
  open func log(_ logs: [String: Double]) throws { try defaultLog(logs) }
}

/// What the Trainer counts for throughput.
public enum ThroughputUnit: Sendable {
  case tokens, samples
  var progressLabel: String { self == .tokens ? "tok/s" : "samples/s" }
  var logKey: String { self == .tokens ? "tokens_per_second" : "samples_per_second" }
}
