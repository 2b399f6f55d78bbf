import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomOptim

extension Trainer {
  /// HF's `_inner_training_loop`: per epoch, per micro-batch
  /// `trainingStep`; every `gradient_accumulation_steps` micro-batches `optimizerStep`,
  /// then log / evaluate / save as the control flags say.
  func runTraining() throws -> TrainerState {
    try args.validate()
    if args.gradientCheckpointing { model.gradientCheckpointingEnable() }
    guard trainDataset.count > 0, batchesPerEpoch > 0 else {
      throw LoomError(
        "the training set has \(trainDataset.count) examples: not enough for one batch of \(args.perDeviceTrainBatchSize)\(args.dataloaderDropLast ? " with dataloader_drop_last" : "")"
      )
    }
    if args.evalStrategy != .no && evalDataset == nil {
      throw LoomError(
        "eval_strategy is \(args.evalStrategy.rawValue) but no evaluation dataset was given")
    }
    let total = try checkedTotalSteps()
    let ddp = activeDistributed
    try prepareOutputDirectoryOnMainProcess()
    manualSeed(args.seed)
    let loader = try trainLoader()
    var optimizer = try createOptimizer()
    if let ddp { optimizer = try ddp.wrapOptimizer(optimizer) }
    let scheduler = try createScheduler(numTrainingSteps: total, optimizer: optimizer)
    self.optimizer = optimizer
    lrScheduler = scheduler
    // torch.amp.GradScaler's defaults, as accelerate builds it for HF's fp16.
    gradScaler = args.fp16 ? GradScaler(initScale: gradScalerInitScale) : nil
    state = TrainerState(
      maxSteps: total, numTrainEpochs: Int(min(args.numTrainEpochs.rounded(.up), 0x1p62)),
      trainBatchSize: args.perDeviceTrainBatchSize)
    if let resume = try resolveResume() {
      try restore(from: resume, optimizer: optimizer, scheduler: scheduler)
    }
    if let ddp {
      try ddp.prepare(model: model, configuration: distributedConfiguration())
      // Only rank 0 shows progress (its callbacks see every event; the others' log nothing).
      if !ddp.isMainProcess { callbackHandler.callbacks[1] = SilentCallback() }
    }
    model.train()
    var running = RunningLoss(startStep: state.globalStep)
    callbackHandler.onTrainBegin(args, state, &control)
    let accumulation = args.gradientAccumulationSteps
    while state.globalStep < total && !control.shouldTrainingStop {
      let batches = loader.epoch(state.epochIndex, from: state.batchesInEpoch)
      // A run resumed at the very end of an epoch has nothing left of it.
      if batches.count > 0 {
        callbackHandler.onEpochBegin(args, state, &control)
        var micro = 0
        for batch in batches {
          if micro % accumulation == 0 { callbackHandler.onStepBegin(args, state, &control) }
          state.batchesInEpoch += 1
          micro += 1
          // Gradients are reduced across ranks only in the backward that ends a step (no_sync).
          ddp?.beginBackward(synchronize: micro % accumulation == 0 || state.batchesInEpoch == loader.count)
          let output = try trainingStep(model: model, inputs: batch)
          let units = throughputUnit == .tokens ? batch.tokenCount : batch.count
          if args.stopOnNaN, case let loss = output.loss.item(), !loss.isFinite {
            // Logged as it is (null in JSON), whatever logging_nan_inf_filter says, at the
            // step it broke, never stepped or saved: the checkpoints stay good.
            running.add(output, tokens: units)
            var logs = running.means()
            logs["learning_rate"] = optimizer.paramGroups[0].lr
            logs["epoch"] = state.epoch
            logs["step"] = Double(state.globalStep + 1)
            try log(logs)
            callbackHandler.onTrainEnd(args, state, &control)
            throw nonFiniteStop(step: state.globalStep + 1, what: "the training loss is \(ProgressCallback.number(loss, "%g"))")
          }
          running.add(
            output, tokens: units, nanInfFilter: args.loggingNanInfFilter,
            stepsSinceLog: state.globalStep - running.startStep)
          let endOfEpoch = state.batchesInEpoch == loader.count
          guard micro % accumulation == 0 || endOfEpoch else {
            callbackHandler.onSubstepEnd(args, state, &control)
            continue
          }
          let lr = optimizer.paramGroups[0].lr
          try ddp?.finishGradientReduction()
          try optimizerStep(optimizer: optimizer, scheduler: scheduler)
          state.globalStep += 1
          state.epoch =
            Double(state.epochIndex) + Double(state.batchesInEpoch) / Double(loader.count)
          callbackHandler.onStepEnd(args, state, &control)
          try maybeLogSaveEvaluate(&running, learningRate: lr)
          if control.shouldEpochStop || control.shouldTrainingStop { break }
        }
        callbackHandler.onEpochEnd(args, state, &control)
        try maybeLogSaveEvaluate(&running, learningRate: optimizer.paramGroups[0].lr)
      }
      // Training stopped: the state stays where the last step left it (inside the epoch
      // or at its end), which is where a resumed run continues. An epoch stop moves on.
      guard !control.shouldTrainingStop, state.globalStep < total else { break }
      state.epochIndex += 1
      state.batchesInEpoch = 0
    }
    if args.loadBestModelAtEnd, let best = state.bestModelCheckpoint {
      let weights = try SafeTensors.load(best + "/model.safetensors")
      try model.loadStateDict(weights, strict: false, source: best + "/model.safetensors")
      FileHandle.standardError.write(
        "loaded the best model from \(best) (\(args.bestMetric.name) = \(state.bestMetric ?? .nan))\n"
          .data(using: .utf8)!)
    }
    if let name = firstNonFiniteParameter() {
      if args.stopOnNaN {
        callbackHandler.onTrainEnd(args, state, &control)
        throw nonFiniteStop(step: state.globalStep, what: "weight \(name) is not finite")
      }
      let first = state.logHistory.first { $0.values.contains { !$0.isFinite } }?["step"]
      FileHandle.standardError.write(
        "warning: training ended with non-finite weights (\(name))\(first.map { "; the logs show nan from step \(Int($0))" } ?? ""). Lower the learning rate or raise adam_epsilon; stop_on_nan (--stop-on-nan) stops at the first one\n"
          .data(using: .utf8)!)
    }
    if let gradScaler, gradScaler.skippedSteps > 0, isWorldProcessZero() {
      FileHandle.standardError.write(
        "fp16: \(gradScaler.skippedSteps) optimizer step\(gradScaler.skippedSteps == 1 ? " was" : "s were") skipped for inf/NaN gradients (final loss scale \(gradScaler.scale))\n"
          .data(using: .utf8)!)
    }
    callbackHandler.onTrainEnd(args, state, &control)
    return state
  }

  /// Optimizer steps of the run: max_steps, else num_train_epochs × steps per epoch
  /// (an error, not a trap, when that is more than Loom counts).
  func checkedTotalSteps() throws -> Int {
    if args.maxSteps > 0 { return args.maxSteps }
    let steps = (args.numTrainEpochs * Double(stepsPerEpoch)).rounded(.up)
    guard steps < 0x1p62 else {
      throw LoomError(
        "num_train_epochs \(args.numTrainEpochs) × \(stepsPerEpoch) steps per epoch is more than 2^62 steps: lower num_train_epochs or set max_steps"
      )
    }
    return Int(steps)
  }

  /// The name of the first parameter holding a NaN or infinity.
  func firstNonFiniteParameter() -> String? {
    model.namedParameters().first { (_, p) in !p.isAllFinite() }?.0
  }

  /// The error that ends a run with stop_on_nan: the step, what went wrong and the
  /// checkpoint to go back to.
  func nonFiniteStop(step: Int, what: String) -> LoomError {
    let last = checkpoints().last.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was saved"
    return LoomError(
      "training stopped at step \(step): \(what) (stop_on_nan, --stop-on-nan); \(last). Lower the learning rate, raise adam_epsilon or clip gradients (max_grad_norm), then resume or restart"
    )
  }

  /// HF's `_maybe_log_save_evaluate`: acts on should_log, should_evaluate and should_save.
  func maybeLogSaveEvaluate(_ running: inout RunningLoss, learningRate: Double) throws {
    if control.shouldLog && running.count > 0 {
      var logs = try reducedMeans(running)  // the one host read of the training loss per logging window
      logs["learning_rate"] = learningRate
      logs["epoch"] = state.epoch
      logs["step"] = Double(state.globalStep)
      running = RunningLoss(startStep: state.globalStep)
      try log(logs)
    }
    control.shouldLog = false
    var metrics: [String: Double]? = nil
    if control.shouldEvaluate {
      if isWorldProcessZero() {
        metrics = evaluate()
        model.train()
        try log(metrics!)
        callbackHandler.onEvaluate(args, state, &control, metrics!)
      } else {
        control.shouldEvaluate = false  // what onEvaluate does on rank 0
      }
      // A callback on rank 0 may stop training on the metrics (early stopping): all ranks stop.
      if let ddp = activeDistributed { control.shouldTrainingStop = try ddp.broadcast(control.shouldTrainingStop) }
    }
    if control.shouldSave, let optimizer, let lrScheduler {
      try activeDistributed?.willSaveCheckpoint()
      if isWorldProcessZero() {
        try saveCheckpoint(optimizer: optimizer, scheduler: lrScheduler, metrics: metrics)
      }
      callbackHandler.onSave(args, state, &control)
    }
  }
}

/// The training loss and its parts summed on the device over a logging window (in
/// float64, so the logged mean equals the sum of the float32 losses read one by one).
struct RunningLoss {
  /// The global step of the last log (HF's `_globalstep_last_logged`).
  var startStep = 0
  var loss: Tensor? = nil
  var parts: [String: Tensor] = [:]
  var count = 0
  var tokens = 0
  var start = Date()

  /// Adds a micro-batch's loss. With `nanInfFilter` (logging_nan_inf_filter) a NaN or
  /// infinite loss (or part) adds sum / (1 + stepsSinceLog) instead, HF's formula, chosen
  /// on the device so the loss is still read once per logging window.
  mutating func add(_ output: LossOutput, tokens: Int, nanInfFilter: Bool = false, stepsSinceLog: Int = 0) {
    func accumulate(_ sum: Tensor?, _ value: Tensor) -> Tensor {
      let v = value.double()
      guard nanInfFilter else { return sum.map { $0 + v } ?? v }
      let s = sum ?? Tensor.zeros(like: v)
      return s + Tensor.where((v - v) == 0.0, v, s / Double(1 + stepsSinceLog))
    }
    loss = accumulate(loss, output.loss)
    for (k, v) in output.parts { parts[k] = accumulate(parts[k], v) }
    count += 1
    self.tokens += tokens
  }

  func means() -> [String: Double] {
    var out = ["loss": (loss?.item() ?? 0) / Double(max(count, 1))]
    for (k, v) in parts { out[k] = v.item() / Double(max(count, 1)) }
    return out
  }

  func throughput() -> Double { Double(tokens) / max(Date().timeIntervalSince(start), 1e-9) }
}
