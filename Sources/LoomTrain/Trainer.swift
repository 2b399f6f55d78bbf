import Foundation
import LoomCore
import LoomIO
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
}

/// Hugging Face-style training loop: AdamW with decay groups (or Adam, SGD), LR schedule with warmup,
/// gradient accumulation and clipping, logging, evaluation, checkpoints laid out as
/// `checkpoint-N/` (rotated by save_total_limit, written atomically), exact resume
/// and loading the best model at the end.
public final class Trainer {
  public let model: Module
  public let args: TrainingArguments
  public let trainDataset: any TrainingDataset
  public let evalDataset: (any TrainingDataset)?
  /// Loss of a batch (mean over its examples).
  public var computeLoss: (Batch) -> Tensor { { [computeLossOutput] in computeLossOutput($0).loss } }
  /// Loss of a batch with its named parts (each a mean over the batch's examples).
  public let computeLossOutput: (Batch) -> LossOutput
  /// HF's `compute_metrics`: named metrics from the evaluation predictions and labels
  /// (collected with `predictionStep`).
  public let computeMetrics: ((EvalPrediction) -> [String: Double])?
  /// Model outputs for a batch (e.g. logits), for `computeMetrics` and `predict`.
  public let predictionStep: ((Batch) -> Tensor)?
  /// Writes the model into a directory (weights plus config and tokenizer files).
  public let saveModel: (Module, String) throws -> Void
  public var callbacks: [TrainerCallback] = []
  /// Called with each log record (also appended to output_dir/`logFileName`).
  public var onLog: (([String: Double]) -> Void)? = nil
  /// The JSON-lines log inside output_dir.
  public var logFileName = "metrics.jsonl"
  /// Throughput in the progress bar and logs: tokens (elements of the inputs) or samples (rows).
  public var throughputUnit = ThroughputUnit.tokens
  public private(set) var state = TrainerState()

  public convenience init(
    model: Module, args: TrainingArguments, trainDataset: any TrainingDataset, evalDataset: (any TrainingDataset)? = nil,
    computeLoss: @escaping (Batch) -> Tensor, computeMetrics: ((EvalPrediction) -> [String: Double])? = nil,
    predictionStep: ((Batch) -> Tensor)? = nil, saveModel: ((Module, String) throws -> Void)? = nil
  ) {
    self.init(
      model: model, args: args, trainDataset: trainDataset, evalDataset: evalDataset,
      computeLossOutput: { LossOutput(loss: computeLoss($0)) }, computeMetrics: computeMetrics, predictionStep: predictionStep,
      saveModel: saveModel)
  }

  /// A trainer whose loss comes with named parts to log (see `LossOutput`).
  public init(
    model: Module, args: TrainingArguments, trainDataset: any TrainingDataset, evalDataset: (any TrainingDataset)? = nil,
    computeLossOutput: @escaping (Batch) -> LossOutput, computeMetrics: ((EvalPrediction) -> [String: Double])? = nil,
    predictionStep: ((Batch) -> Tensor)? = nil, saveModel: ((Module, String) throws -> Void)? = nil
  ) {
    self.predictionStep = predictionStep
    self.model = model
    self.args = args
    self.trainDataset = trainDataset
    self.evalDataset = evalDataset
    self.computeLossOutput = computeLossOutput
    self.computeMetrics = computeMetrics
    self.saveModel = saveModel ?? { m, dir in
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try SafeTensors.save(m.stateDict(), metadata: ["format": "pt"], to: dir + "/model.safetensors")
    }
  }

  var batchesPerEpoch: Int {
    let n = trainDataset.count, b = args.perDeviceTrainBatchSize
    return args.dataloaderDropLast ? n / b : (n + b - 1) / b
  }

  var stepsPerEpoch: Int { max(1, (batchesPerEpoch + args.gradientAccumulationSteps - 1) / args.gradientAccumulationSteps) }

  public var totalSteps: Int {
    args.maxSteps > 0 ? args.maxSteps : Int((args.numTrainEpochs * Double(stepsPerEpoch)).rounded(.up))
  }

  /// The training batches: a permutation seeded by (seed, epoch), so resuming
  /// reproduces the order.
  func trainLoader() throws -> DataLoader {
    try DataLoader(
      trainDataset, batchSize: args.perDeviceTrainBatchSize, shuffle: true, seed: args.seed, dropLast: args.dataloaderDropLast,
      prefetch: args.dataloaderPrefetch)
  }

  /// The optimizer `args.optim` names (validated before).
  func makeOptimizer() -> any Optimizer {
    switch args.optim {
    case "adam":
      let params = model.parameters().filter(\.requiresGrad)
      return Adam(
        [ParamGroup(params: params, lr: args.learningRate, weightDecay: args.weightDecay)], betas: (args.adamBeta1, args.adamBeta2),
        eps: args.adamEpsilon)
    case "sgd":
      return SGD(decayGroups(model, lr: args.learningRate, weightDecay: args.weightDecay), momentum: args.sgdMomentum)
    default:
      return AdamW(
        decayGroups(model, lr: args.learningRate, weightDecay: args.weightDecay), betas: (args.adamBeta1, args.adamBeta2),
        eps: args.adamEpsilon)
    }
  }

  /// Runs training; returns the final state.
  @discardableResult
  public func train() throws -> TrainerState {
    try args.validate()
    guard trainDataset.count > 0, batchesPerEpoch > 0 else {
      throw LoomError("the training set has \(trainDataset.count) examples: not enough for one batch of \(args.perDeviceTrainBatchSize)\(args.dataloaderDropLast ? " with dataloader_drop_last" : "")")
    }
    if args.evalStrategy != .no && evalDataset == nil {
      throw LoomError("eval_strategy is \(args.evalStrategy.rawValue) but no evaluation dataset was given")
    }
    try prepareOutputDirectory()
    manualSeed(args.seed)
    let total = totalSteps
    let warmup = args.warmupSteps > 0 ? args.warmupSteps : Int((args.warmupRatio * Double(total)).rounded(.up))
    let loader = try trainLoader()
    let optimizer = makeOptimizer()
    let scheduler = LRScheduler(optimizer, schedule: try LRSchedule(name: args.lrSchedulerType, warmupSteps: warmup, totalSteps: total))
    state = TrainerState(maxSteps: total, numTrainEpochs: Int(args.numTrainEpochs.rounded(.up)), trainBatchSize: args.perDeviceTrainBatchSize)
    if let resume = try resolveResume() { try restore(from: resume, optimizer: optimizer, scheduler: scheduler) }
    model.train()
    let progress = ProgressBar(total: total, label: "train", plainEvery: args.loggingSteps)
    var control = TrainerControl()
    var runningLoss = 0.0, runningCount = 0, tokens = 0
    var runningParts: [String: Double] = [:]
    var windowStart = Date()
    let accumulation = args.gradientAccumulationSteps
    epochs: while state.globalStep < total && !control.shouldStop {
      let batchCount = loader.count
      var micro = 0
      for batch in loader.epoch(state.epochIndex, from: state.batchesInEpoch) {
        state.batchesInEpoch += 1
        micro += 1
        let output = computeLossOutput(batch)
        let loss = output.loss
        (accumulation > 1 ? loss / Double(accumulation) : loss).backward()
        runningLoss += loss.item()
        for (k, v) in output.parts { runningParts[k, default: 0] += v.item() }
        runningCount += 1
        tokens += throughputUnit == .tokens ? batch.tokenCount : batch.inputs.shape.first ?? 1
        let endOfEpoch = state.batchesInEpoch == batchCount
        guard micro % accumulation == 0 || endOfEpoch else { continue }
        if args.maxGradNorm > 0 { clipGradNorm(model.parameters(), maxNorm: args.maxGradNorm) }
        let lr = optimizer.paramGroups[0].lr
        optimizer.step()
        scheduler.step()
        optimizer.zeroGrad()
        state.globalStep += 1
        state.epoch = Double(state.epochIndex) + Double(state.batchesInEpoch) / Double(batchCount)
        let seconds = Date().timeIntervalSince(windowStart)
        progress.update(state.globalStep, [
          "loss": String(format: "%.4f", runningLoss / Double(max(runningCount, 1))), "lr": String(format: "%.2e", lr),
          throughputUnit.progressLabel: String(format: "%.0f", Double(tokens) / max(seconds, 1e-9)),
        ])
        if state.globalStep % args.loggingSteps == 0 || state.globalStep == total {
          var logs = ["loss": runningLoss / Double(max(runningCount, 1)), "learning_rate": lr, "epoch": state.epoch, "step": Double(state.globalStep), throughputUnit.logKey: Double(tokens) / max(seconds, 1e-9)]
          for (k, v) in runningParts { logs[k] = v / Double(max(runningCount, 1)) }
          try log(logs, control: &control)
          runningLoss = 0; runningCount = 0; tokens = 0; windowStart = Date(); runningParts = [:]
        }
        let evalNow = (args.evalStrategy == .steps && state.globalStep % (args.evalSteps ?? args.loggingSteps) == 0)
          || (args.evalStrategy == .epoch && endOfEpoch)
        var metrics: [String: Double]? = nil
        if evalNow {
          metrics = evaluate()
          model.train()
          for c in callbacks { c.onEvaluate(metrics!, state: state, control: &control) }
          try log(metrics!, control: &control)
        }
        let saveNow = (args.saveStrategy == .steps && state.globalStep % args.saveSteps == 0)
          || (args.saveStrategy == .epoch && endOfEpoch)
        if saveNow { try saveCheckpoint(optimizer: optimizer, scheduler: scheduler, metrics: metrics) }
        if state.globalStep >= total || control.shouldStop { break epochs }
      }
      state.epochIndex += 1
      state.batchesInEpoch = 0
    }
    progress.finish()
    if args.loadBestModelAtEnd, let best = state.bestModelCheckpoint {
      let weights = try SafeTensors.load(best + "/model.safetensors")
      try model.loadStateDict(weights, strict: false, source: best + "/model.safetensors")
      FileHandle.standardError.write("loaded the best model from \(best) (\(args.bestMetric.name) = \(state.bestMetric ?? .nan))\n".data(using: .utf8)!)
    }
    return state
  }

  /// Mean loss over the evaluation set (and its perplexity), plus computeMetrics.
  public func evaluate() -> [String: Double] {
    guard let eval = evalDataset, eval.count > 0,
      let loader = try? DataLoader(eval, batchSize: args.perDeviceEvalBatchSize, prefetch: args.dataloaderPrefetch)
    else { return [:] }
    model.eval()
    var total = 0.0, n = 0
    var parts: [String: Double] = [:]
    var predictions: [Tensor] = [], labels: [Tensor] = []
    noGrad {
      let batches = loader.epoch(0)
      for (idx, batch) in zip(batches.indices, batches) {
        let output = computeLossOutput(batch)
        total += output.loss.item() * Double(idx.count)
        for (k, v) in output.parts { parts[k, default: 0] += v.item() * Double(idx.count) }
        n += idx.count
        if computeMetrics != nil, let step = predictionStep {
          predictions.append(step(batch))
          labels.append(batch.labels)
        }
      }
    }
    let mean = total / Double(max(n, 1))
    var metrics = ["eval_loss": mean, "eval_perplexity": Foundation.exp(min(mean, 700)), "epoch": state.epoch, "step": Double(state.globalStep)]
    for (k, v) in parts { metrics["eval_" + k] = v / Double(max(n, 1)) }
    if let computeMetrics {
      let prediction = EvalPrediction(
        predictions: predictions.isEmpty ? nil : Tensor.cat(predictions), labelIds: labels.isEmpty ? nil : Tensor.cat(labels),
        loss: mean)
      for (k, v) in computeMetrics(prediction) { metrics[k.hasPrefix("eval_") ? k : "eval_" + k] = v }
    }
    return metrics
  }

  /// Predictions (from `predictionStep`), labels and metrics over a dataset, like HF's
  /// `predict`.
  public func predict(_ dataset: any TrainingDataset) throws -> (predictions: Tensor, labelIds: Tensor, metrics: [String: Double]) {
    guard let step = predictionStep else { throw LoomError("predict needs a predictionStep (model outputs for a batch)") }
    model.eval()
    defer { model.train() }
    var outputs: [Tensor] = [], labels: [Tensor] = []
    var total = 0.0
    let loader = try DataLoader(dataset, batchSize: args.perDeviceEvalBatchSize, prefetch: args.dataloaderPrefetch)
    noGrad {
      let batches = loader.epoch(0)
      for (idx, batch) in zip(batches.indices, batches) {
        outputs.append(step(batch))
        labels.append(batch.labels)
        total += computeLossOutput(batch).loss.item() * Double(idx.count)
      }
    }
    let predictions = Tensor.cat(outputs), labelIds = Tensor.cat(labels)
    var metrics = ["test_loss": total / Double(max(dataset.count, 1))]
    for (k, v) in computeMetrics?(EvalPrediction(predictions: predictions, labelIds: labelIds, loss: metrics["test_loss"]!)) ?? [:] {
      metrics["test_" + k] = v
    }
    return (predictions, labelIds, metrics)
  }

  func log(_ logs: [String: Double], control: inout TrainerControl) throws {
    state.logHistory.append(logs)
    for c in callbacks { c.onLog(logs, state: state, control: &control) }
    onLog?(logs)
    let data = try JSONSerialization.data(withJSONObject: logs, options: [.sortedKeys])
    let path = args.outputDir + "/" + logFileName
    if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: data + Data("\n".utf8))
  }

  func prepareOutputDirectory() throws {
    let fm = FileManager.default
    let dir = args.outputDir
    if let contents = try? fm.contentsOfDirectory(atPath: dir), !contents.isEmpty, !args.overwriteOutputDir,
      args.resumeFromCheckpoint == nil
    {
      throw LoomError("output directory \(dir) already exists and is not empty; pass --overwrite-output-dir to reuse it or --resume-from-checkpoint to continue")
    }
    if args.overwriteOutputDir && args.resumeFromCheckpoint == nil {
      for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix("checkpoint-") || name == logFileName {
        try fm.removeItem(atPath: dir + "/" + name)
      }
    }
    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  /// Checkpoint directories in step order.
  public func checkpoints() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: args.outputDir)) ?? []
    return names.compactMap { n -> (Int, String)? in
      guard n.hasPrefix("checkpoint-"), let step = Int(n.dropFirst("checkpoint-".count)) else { return nil }
      return (step, args.outputDir + "/" + n)
    }.sorted { $0.0 < $1.0 }.map(\.1)
  }

  func resolveResume() throws -> String? {
    guard let r = args.resumeFromCheckpoint else { return nil }
    if r == "true" || r == "last" || r == "latest" {
      guard let last = checkpoints().last else {
        throw LoomError("resume_from_checkpoint: no checkpoint-N directory in \(args.outputDir)")
      }
      return last
    }
    guard FileManager.default.fileExists(atPath: r + "/trainer_state.json") else {
      throw LoomError("resume_from_checkpoint: \(r) is not a checkpoint (no trainer_state.json)")
    }
    return r
  }

  func saveCheckpoint(optimizer: any Optimizer, scheduler: LRScheduler, metrics: [String: Double]?) throws {
    let fm = FileManager.default
    let name = "checkpoint-\(state.globalStep)"
    let final = args.outputDir + "/" + name
    if let metrics, let value = metrics[args.bestMetric.name] {
      let better = state.bestMetric.map { args.bestMetric.greaterIsBetter ? value > $0 : value < $0 } ?? true
      if better {
        state.bestMetric = value
        state.bestModelCheckpoint = final
      }
    }
    // Write everything into a temporary directory, then rename: a crash mid-write
    // leaves earlier checkpoints untouched and no half-written checkpoint-N.
    let tmp = args.outputDir + "/.\(name).tmp-\(getpid())"
    try? fm.removeItem(atPath: tmp)
    try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    try saveModel(model, tmp)
    try SafeTensors.save(optimizer.stateDict(), to: tmp + "/optimizer.safetensors")
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(["step_count": scheduler.stepCount]), to: tmp + "/scheduler.json")
    try AtomicFile.write(try encoder.encode(["global_generator": Generator.global.state]), to: tmp + "/rng_state.json")
    try AtomicFile.write(try encoder.encode(state), to: tmp + "/trainer_state.json")
    try AtomicFile.write(try encoder.encode(args), to: tmp + "/training_args.json")
    if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }
    try fm.moveItem(atPath: tmp, toPath: final)
    try rotateCheckpoints()
  }

  /// Keeps the newest `save_total_limit` checkpoints, never deleting the best one.
  func rotateCheckpoints() throws {
    guard var limit = args.saveTotalLimit else { return }
    var all = checkpoints()
    if let best = state.bestModelCheckpoint, let i = all.firstIndex(of: best) {
      if limit == 1 && best != all.last { limit = 2 }
      all.remove(at: i)
      all.append(best)
    }
    for dir in all.prefix(max(0, all.count - limit)) { try FileManager.default.removeItem(atPath: dir) }
  }

  func restore(from dir: String, optimizer: any Optimizer, scheduler: LRScheduler) throws {
    let decoder = JSONDecoder()
    // Optimizer states do not carry over between kinds (Adam moments vs SGD momentum).
    if let data = FileManager.default.contents(atPath: dir + "/training_args.json"),
      let saved = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    {
      let optim = saved["optim"] as? String ?? "adamw_torch"
      if optim != args.optim {
        throw LoomError("resume_from_checkpoint: \(dir) was written with optim '\(optim)', this run uses '\(args.optim)'")
      }
    }
    let weights = try SafeTensors.load(dir + "/model.safetensors")
    try model.loadStateDict(weights, source: dir + "/model.safetensors")
    try optimizer.loadStateDict(SafeTensors.load(dir + "/optimizer.safetensors"))
    state = try decoder.decode(TrainerState.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/trainer_state.json")))
    let sched = try decoder.decode([String: Int].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/scheduler.json")))
    scheduler.restore(stepCount: sched["step_count"] ?? state.globalStep)
    let rng = try decoder.decode([String: [UInt64]].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/rng_state.json")))
    if let g = rng["global_generator"] {
      guard g.count == 2 else {
        throw LoomError(
          "\(dir)/rng_state.json: global_generator has \(g.count) words, expected [seed, offset] "
            + "(a checkpoint from an older Loom; resume it with that version or start a new run)")
      }
      Generator.global.state = g
    }
    state.maxSteps = totalSteps
    FileHandle.standardError.write("resuming from \(dir) at step \(state.globalStep)\n".data(using: .utf8)!)
  }
}

/// What the Trainer counts for throughput.
public enum ThroughputUnit: Sendable {
  case tokens, samples
  var progressLabel: String { self == .tokens ? "tok/s" : "samples/s" }
  var logKey: String { self == .tokens ? "tokens_per_second" : "samples_per_second" }
}
