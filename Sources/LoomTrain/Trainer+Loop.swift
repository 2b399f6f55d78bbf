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
    guard trainDataset.count > 0, batchesPerEpoch > 0 else {
      throw LoomError(
        "the training set has \(trainDataset.count) examples: not enough for one batch of \(args.perDeviceTrainBatchSize)\(args.dataloaderDropLast ? " with dataloader_drop_last" : "")"
      )
    }
    if args.evalStrategy != .no && evalDataset == nil {
      throw LoomError(
        "eval_strategy is \(args.evalStrategy.rawValue) but no evaluation dataset was given")
    }
    try prepareOutputDirectory()
    manualSeed(args.seed)
    let total = totalSteps
    let loader = try trainLoader()
    let optimizer = try createOptimizer()
    let scheduler = try createScheduler(numTrainingSteps: total, optimizer: optimizer)
    self.optimizer = optimizer
    lrScheduler = scheduler
    state = TrainerState(
      maxSteps: total, numTrainEpochs: Int(args.numTrainEpochs.rounded(.up)),
      trainBatchSize: args.perDeviceTrainBatchSize)
    if let resume = try resolveResume() {
      try restore(from: resume, optimizer: optimizer, scheduler: scheduler)
    }
    model.train()
    var running = RunningLoss()
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
          running.add(
            try trainingStep(model: model, inputs: batch),
            tokens: throughputUnit == .tokens ? batch.tokenCount : batch.count)
          let endOfEpoch = state.batchesInEpoch == loader.count
          guard micro % accumulation == 0 || endOfEpoch else {
            callbackHandler.onSubstepEnd(args, state, &control)
            continue
          }
          let lr = optimizer.paramGroups[0].lr
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
    callbackHandler.onTrainEnd(args, state, &control)
    return state
  }

  /// HF's `_maybe_log_save_evaluate`: acts on should_log, should_evaluate and should_save.
  func maybeLogSaveEvaluate(_ running: inout RunningLoss, learningRate: Double) throws {
    if control.shouldLog && running.count > 0 {
      var logs = running.means()  // the one host read of the training loss per logging window
      logs["learning_rate"] = learningRate
      logs["epoch"] = state.epoch
      logs["step"] = Double(state.globalStep)
      logs[throughputUnit.logKey] = running.throughput()
      running = RunningLoss()
      try log(logs)
    }
    control.shouldLog = false
    var metrics: [String: Double]? = nil
    if control.shouldEvaluate {
      metrics = evaluate()
      model.train()
      try log(metrics!)
      callbackHandler.onEvaluate(args, state, &control, metrics!)
    }
    if control.shouldSave, let optimizer, let lrScheduler {
      try saveCheckpoint(optimizer: optimizer, scheduler: lrScheduler, metrics: metrics)
      callbackHandler.onSave(args, state, &control)
    }
  }
}

/// The training loss and its parts summed on the device over a logging window (in
/// float64, so the logged mean equals the sum of the float32 losses read one by one).
struct RunningLoss {
  var loss: Tensor? = nil
  var parts: [String: Tensor] = [:]
  var count = 0
  var tokens = 0
  var start = Date()

  mutating func add(_ output: LossOutput, tokens: Int) {
    loss = loss.map { $0 + output.loss.double() } ?? output.loss.double()
    for (k, v) in output.parts { parts[k] = parts[k].map { $0 + v.double() } ?? v.double() }
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
