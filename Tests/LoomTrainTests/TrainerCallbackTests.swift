import Foundation
import LoomCore
import LoomNN
import LoomOptim
import LoomTrain
import XCTest

/// Records every event's name (and optionally steers the loop at one step).
final class EventRecorder: TrainerCallback {
  var events: [String] = []
  var atStep: Int? = nil
  var steer: ((inout TrainerControl) -> Void)? = nil

  func onInitEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_init_end")
  }
  func onTrainBegin(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_train_begin")
  }
  func onTrainEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_train_end")
  }
  func onEpochBegin(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_epoch_begin")
  }
  func onEpochEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_epoch_end")
  }
  func onStepBegin(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_step_begin")
  }
  func onPreOptimizerStep(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {
    events.append("on_pre_optimizer_step")
  }
  func onOptimizerStep(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  {
    events.append("on_optimizer_step")
  }
  func onSubstepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_substep_end")
  }
  func onStepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_step_end")
    if state.globalStep == atStep { steer?(&control) }
  }
  func onLog(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl,
    logs: [String: Double]
  ) {
    events.append("on_log")
  }
  func onEvaluate(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl,
    metrics: [String: Double]
  ) {
    events.append("on_evaluate")
  }
  func onSave(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    events.append("on_save")
  }
  func onPredictionStep(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  {
    events.append("on_prediction_step")
  }
}

/// Counts loss computations and keeps each micro-batch's loss as read on the host.
final class CountingTrainer: Trainer {
  var lossCalls = 0
  var microLosses: [Double] = []
  override func computeLoss(model: Module, inputs: Batch) -> LossOutput {
    lossCalls += 1
    return LossOutput(loss: Loss.mse((model as! Regressor)(inputs.inputs), inputs.labels))
  }
  override func trainingStep(model: Module, inputs: Batch) throws -> LossOutput {
    let out = try super.trainingStep(model: model, inputs: inputs)
    microLosses.append(out.loss.item())
    return out
  }
}

/// Replaces the optimizer step (as a GAN's two optimizers would), firing its events itself.
final class ManualStepTrainer: Trainer {
  var steps = 0
  override func computeLoss(model: Module, inputs: Batch) -> LossOutput {
    LossOutput(loss: Loss.mse((model as! Regressor)(inputs.inputs), inputs.labels))
  }
  override func optimizerStep(optimizer: any Optimizer, scheduler: LRScheduler) throws {
    steps += 1
    callbackHandler.onPreOptimizerStep(args, state, &control)
    optimizer.step()
    callbackHandler.onOptimizerStep(args, state, &control)
    scheduler.step()
    optimizer.zeroGrad()
  }
}

final class TrainerCallbackTests: XCTestCase {
  var dir: String!
  override func setUp() {
    TestDevice.apply()
    dir = NSTemporaryDirectory() + "loom-trainer-cb-\(UUID().uuidString)"
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func args(_ body: (inout TrainingArguments) -> Void = { _ in }) -> TrainingArguments {
    var a = TrainingArguments(outputDir: dir)
    a.maxSteps = 2
    a.perDeviceTrainBatchSize = 1
    a.perDeviceEvalBatchSize = 1
    a.gradientAccumulationSteps = 2
    a.learningRate = 0.05
    a.loggingSteps = 1
    a.evalStrategy = .steps
    a.evalSteps = 2
    a.saveSteps = 2
    body(&a)
    return a
  }

  func trainer(
    _ a: TrainingArguments, train: Int = 4, eval: Int = 2, callbacks: [TrainerCallback] = []
  ) -> Trainer {
    let model = Regressor()
    return Trainer(
      model: model, args: a, trainDataset: RegressionData(count: train, seed: 3),
      evalDataset: RegressionData(count: eval, seed: 4),
      computeLoss: { b in Loss.mse(model(b.inputs), b.labels) }, callbacks: callbacks)
  }

  /// The events of two optimizer steps of two micro-batches each, with a log every step
  /// and an evaluation and a checkpoint at step 2, in transformers' order
  /// (Trainer._inner_training_loop, _maybe_log_save_evaluate, evaluate).
  func testEventsFireInHuggingFaceOrder() throws {
    let recorder = EventRecorder()
    try trainer(args(), callbacks: [recorder]).train()
    let step = [
      "on_step_begin", "on_substep_end", "on_pre_optimizer_step", "on_optimizer_step",
      "on_step_end",
    ]
    let expected =
      ["on_init_end", "on_train_begin", "on_epoch_begin"]
      + step + ["on_log"]
      + step + [
        "on_log", "on_prediction_step", "on_prediction_step", "on_log", "on_evaluate", "on_save",
      ]
      + ["on_epoch_end", "on_train_end"]
    XCTAssertEqual(recorder.events, expected)
  }

  /// Flags a callback sets are honoured: save, log and evaluate off-schedule, stop an epoch.
  func testControlFlagsSteerTheLoop() throws {
    let recorder = EventRecorder()
    recorder.atStep = 1
    recorder.steer = {
      $0.shouldSave = true
      $0.shouldEvaluate = true
    }
    let t = trainer(
      args {
        $0.maxSteps = 3
        $0.loggingSteps = 100
        $0.evalSteps = 100
        $0.saveSteps = 100
        $0.gradientAccumulationSteps = 1
      },
      callbacks: [recorder])
    try t.train()
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/checkpoint-1/trainer_state.json"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/checkpoint-2"))
    XCTAssertEqual(t.state.logHistory.filter { $0["eval_loss"] != nil }.map { $0["step"]! }, [1])
    // Only the final step logs the training loss (logging_steps 100).
    XCTAssertEqual(t.state.logHistory.filter { $0["loss"] != nil }.map { $0["step"]! }, [3])

    // should_epoch_stop ends the epoch (4 batches) after its first step; the next one starts.
    let stopper = EventRecorder()
    stopper.atStep = 1
    stopper.steer = { $0.shouldEpochStop = true }
    try? FileManager.default.removeItem(atPath: dir)
    let e = trainer(
      args {
        $0.maxSteps = 6
        $0.evalStrategy = .no
        $0.saveStrategy = .no
        $0.gradientAccumulationSteps = 1
      },
      callbacks: [stopper])
    try e.train()
    XCTAssertEqual(e.state.globalStep, 6)
    XCTAssertEqual(
      stopper.events.filter { $0 == "on_epoch_begin" }.count, 3, "1 step, then 4, then the last")
    XCTAssertEqual(e.state.epochIndex, 2)
  }

  /// The logged loss (summed on the device, read at logging time) equals the mean of the
  /// micro-batch losses read one by one, as the loop did before.
  func testLoggedLossEqualsHostMeanOfMicroBatches() throws {
    let a = args {
      $0.maxSteps = 6
      $0.loggingSteps = 3
      $0.evalStrategy = .no
      $0.saveStrategy = .no
    }
    let t = CountingTrainer(
      model: Regressor(), args: a, trainDataset: RegressionData(count: 96, seed: 3))
    try t.train()
    XCTAssertEqual(t.microLosses.count, 12)
    XCTAssertEqual(t.lossCalls, 12)
    let logged = t.state.logHistory.compactMap { $0["loss"] }
    let expected = [t.microLosses[0..<6], t.microLosses[6..<12]].map { $0.reduce(0, +) / 6 }
    XCTAssertEqual(logged, expected)
  }

  /// With a loss-and-logits closure, evaluation with metrics runs the model once per batch.
  func testEvaluationRunsTheModelOncePerBatch() throws {
    let model = Regressor()
    var forwards = 0
    let t = Trainer(
      model: model,
      args: args {
        $0.maxSteps = 1
        $0.gradientAccumulationSteps = 1
        $0.perDeviceEvalBatchSize = 5
      },
      trainDataset: RegressionData(count: 8, seed: 3),
      evalDataset: RegressionData(count: 32, seed: 4),
      lossAndLogits: { b in
        forwards += 1
        let out = model(b.inputs)
        return (LossOutput(loss: Loss.mse(out, b.labels)), out)
      },
      computeMetrics: { p in ["count": Double(p.predictions!.shape[0])] })
    forwards = 0
    let metrics = t.evaluate()
    XCTAssertEqual(forwards, 7, "32 examples in batches of 5")
    XCTAssertEqual(metrics["eval_count"], 32)
    XCTAssertNil(metrics["eval_perplexity"], "a regression is not a language model")
    let (predictions, _, test) = try t.predict(RegressionData(count: 32, seed: 4))
    XCTAssertEqual(forwards, 14)
    XCTAssertEqual(test["test_loss"]!, metrics["eval_loss"]!, accuracy: 1e-12)
    XCTAssertEqual(predictions.shape, [32, 1])
  }

  func testPerplexityOnlyForLanguageModels() throws {
    let t = trainer(args { $0.maxSteps = 1 })
    XCTAssertFalse(t.isLanguageModel)
    XCTAssertNil(t.evaluate()["eval_perplexity"])
    t.isLanguageModel = true
    let m = t.evaluate()
    XCTAssertEqual(m["eval_perplexity"]!, Foundation.exp(m["eval_loss"]!), accuracy: 1e-9)
  }

  /// Resuming restores log_history from trainer_state.json and cuts metrics.jsonl back to
  /// the checkpoint, so no step is logged twice.
  func testResumeRestoresLogHistoryWithoutDuplicateLines() throws {
    let a = args {
      $0.maxSteps = 24
      $0.perDeviceTrainBatchSize = 8
      $0.saveSteps = 6
      $0.evalStrategy = .no
    }
    let full = trainer(a, train: 96)
    try full.train()
    try FileManager.default.removeItem(atPath: dir)
    let first = trainer(a, train: 96, callbacks: [StopAt(step: 14)])
    try first.train()
    XCTAssertEqual(first.state.globalStep, 14)
    var b = a
    b.resumeFromCheckpoint = dir + "/checkpoint-12"
    let resumed = trainer(b, train: 96)
    try resumed.train()
    let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(
      separator: "\n"
    )
    .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Double] }
    XCTAssertEqual(lines.map { $0["step"]! }, (1...24).map(Double.init))
    // (JSONSerialization prints doubles to ~16 digits, so the file matches to rounding.)
    for (line, reference) in zip(lines, full.state.logHistory) {
      XCTAssertEqual(line["loss"]!, reference["loss"]!, accuracy: 1e-14 * reference["loss"]!)
    }
    XCTAssertEqual(
      resumed.state.logHistory.map { $0["loss"]! }, full.state.logHistory.map { $0["loss"]! })
  }

  func testAdafactorAndOptimizerAliases() throws {
    XCTAssertEqual(try OptimizerNames(parsing: "adamw_torch_fused").canonical, .adamwTorch)
    XCTAssertEqual(try OptimizerNames(parsing: "adamw_hf").canonical, .adamwTorch)
    XCTAssertThrowsError(try OptimizerNames(parsing: "lion")) {
      XCTAssertTrue("\($0)".contains("adafactor"), "\($0)")
    }
    let a = args {
      $0.maxSteps = 60
      $0.optim = .adafactor
      $0.perDeviceTrainBatchSize = 8
      $0.gradientAccumulationSteps = 1
      $0.evalStrategy = .no
      $0.saveStrategy = .no
      $0.learningRate = 0.05
    }
    let t = trainer(a, train: 96)
    try t.train()
    XCTAssertTrue(t.optimizer is Adafactor)
    let losses = t.state.logHistory.compactMap { $0["loss"] }
    XCTAssertLessThan(
      losses.suffix(10).reduce(0, +), 0.75 * losses.prefix(10).reduce(0, +), "\(losses)")
  }

  /// HF's formulas (transformers.optimization) at hand-computed points.
  func testNewSchedulesMatchHuggingFaceFormulas() throws {
    let restarts = LRSchedule.cosineWithRestarts(warmupSteps: 2, totalSteps: 10, cycles: 2)
    XCTAssertEqual(restarts.factor(at: 1), 0.5)
    XCTAssertEqual(restarts.factor(at: 4), 0.5, accuracy: 1e-12)  // progress 1/4: cos(π/2)
    XCTAssertEqual(restarts.factor(at: 6), 1, accuracy: 1e-12)  // the restart
    XCTAssertEqual(restarts.factor(at: 10), 0)
    let poly = try SchedulerType(parsing: "polynomial").schedule(
      warmupSteps: 2, totalSteps: 10, lrInit: 1e-3)
    XCTAssertEqual(poly.factor(at: 6), ((1e-3 - 1e-7) * 0.5 + 1e-7) / 1e-3, accuracy: 1e-12)
    XCTAssertEqual(poly.factor(at: 11), 1e-4, accuracy: 1e-12)
    let isqrt = SchedulerType.inverseSqrt.schedule(warmupSteps: 4, totalSteps: 100)
    XCTAssertEqual(isqrt.factor(at: 2), 0.5)
    XCTAssertEqual(isqrt.factor(at: 4), 1)
    XCTAssertEqual(isqrt.factor(at: 16), 0.5)
    XCTAssertThrowsError(try SchedulerType(parsing: "zigzag")) {
      XCTAssertTrue(
        "\($0)".contains(
          "valid values: linear, cosine, cosine_with_restarts, polynomial, constant"), "\($0)")
    }
    XCTAssertThrowsError(
      try JSONDecoder().decode([SchedulerType].self, from: Data(#"["cosine", "zigzag"]"#.utf8)))
  }

  func testBatchesAreNamedTensors() throws {
    let blocks = try CausalLMBlocks(tokens: (0..<20).map(Int32.init), blockSize: 5)
    let b = blocks.batch([1, 2])
    XCTAssertEqual(b.tensors.keys.sorted(), ["input_ids", "labels"])
    XCTAssertEqual(b.inputIds?.int64s, (5..<15).map(Int64.init))
    XCTAssertEqual(b.inputs.shape, [2, 5])
    XCTAssertEqual(b.count, 2)
    let floats = Batch(
      inputs: Tensor([1, 2] as [Float], shape: [1, 2]),
      labels: Tensor([3] as [Float], shape: [1, 1]))
    XCTAssertEqual(floats.mainInputName, "input_values")
    XCTAssertNil(floats.attentionMask)
    let c = try Batch.collate([
      [
        "pixel_values": Tensor([1, 2] as [Float], shape: [2]),
        "timesteps": Tensor([Int64(3)], shape: [1]),
      ],
      [
        "pixel_values": Tensor([3, 4] as [Float], shape: [2]),
        "timesteps": Tensor([Int64(7)], shape: [1]),
      ],
    ])
    XCTAssertEqual(c.mainInputName, "pixel_values")
    XCTAssertEqual(c.pixelValues?.shape, [2, 2])
    XCTAssertEqual(c.timesteps?.int64s, [3, 7])
    XCTAssertThrowsError(
      try Batch.collate([
        ["a": Tensor([1] as [Float], shape: [1])], ["b": Tensor([1] as [Float], shape: [1])],
      ])
    ) {
      XCTAssertTrue("\($0)".contains("example 1 has no 'a'"), "\($0)")
    }
  }

  /// A subclass's own optimizer step (no clipping) trains exactly like the built-in one
  /// with max_grad_norm 0, and callbacks still see its events.
  func testSubclassReplacesTheOptimizerStep() throws {
    let a = args {
      $0.maxSteps = 6
      $0.maxGradNorm = 0
      $0.evalStrategy = .no
      $0.saveStrategy = .no
    }
    let reference = trainer(a, train: 16)
    try reference.train()
    try FileManager.default.removeItem(atPath: dir)
    let recorder = EventRecorder()
    let t = ManualStepTrainer(
      model: Regressor(), args: a, trainDataset: RegressionData(count: 16, seed: 3),
      callbacks: [recorder])
    try t.train()
    XCTAssertEqual(t.steps, 6)
    XCTAssertEqual(recorder.events.filter { $0 == "on_pre_optimizer_step" }.count, 6)
    XCTAssertEqual(
      t.state.logHistory.map { $0["loss"]! }, reference.state.logHistory.map { $0["loss"]! })
  }
}
