import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomOptim
import LoomTrain
import XCTest

/// y = 3x₀ − 2x₁ + 0.5 with a little noise.
struct RegressionData: TrainingDataset {
  let x: [Float]
  let y: [Float]
  init(count: Int, seed: UInt64) {
    let g = Generator(seed: seed)
    var xs: [Float] = [], ys: [Float] = []
    for _ in 0..<count {
      let a = g.nextFloat() * 2 - 1, b = g.nextFloat() * 2 - 1
      xs += [a, b]
      ys.append(3 * a - 2 * b + 0.5 + (g.nextFloat() - 0.5) * 0.1)
    }
    x = xs
    y = ys
  }
  var count: Int { y.count }
  func batch(_ indices: [Int]) -> Batch {
    Batch(
      inputs: Tensor(indices.flatMap { [x[2 * $0], x[2 * $0 + 1]] }, shape: [indices.count, 2]),
      labels: Tensor(indices.map { y[$0] }, shape: [indices.count, 1]))
  }
}

final class Regressor: Module {
  @Child var hidden = Linear(2, 16, generator: Generator(seed: 1))
  @Child var drop = Dropout(0.1)
  @Child var out = Linear(16, 1, generator: Generator(seed: 2))
  override func forward(_ x: Tensor) -> Tensor { out(drop(hidden(x).tanh())) }
}

final class StopAt: TrainerCallback {
  let step: Int
  init(step: Int) { self.step = step }
  func onLog(_ logs: [String: Double], state: TrainerState, control: inout TrainerControl) {
    if state.globalStep >= step { control.shouldStop = true }
  }
}

final class TrainerTests: XCTestCase {
  var dir: String!
  override func setUp() {
    TestDevice.apply()
    dir = NSTemporaryDirectory() + "loom-trainer-\(UUID().uuidString)"
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func makeTrainer(_ args: TrainingArguments, model: Regressor = Regressor()) -> (Trainer, [Double]) {
    let trainer = Trainer(
      model: model, args: args, trainDataset: RegressionData(count: 96, seed: 3), evalDataset: RegressionData(count: 32, seed: 4),
      computeLoss: { b in Loss.mse(model(b.inputs), b.labels) })
    XCTAssertTrue(model.parameters().allSatisfy { $0.device == TestDevice.device })
    return (trainer, [])
  }

  func args(_ body: (inout TrainingArguments) -> Void = { _ in }) -> TrainingArguments {
    var a = TrainingArguments(outputDir: dir)
    a.maxSteps = 24
    a.perDeviceTrainBatchSize = 8
    a.learningRate = 0.05
    a.loggingSteps = 1
    a.saveSteps = 6
    a.warmupSteps = 3
    a.gradientAccumulationSteps = 2
    a.weightDecay = 0.01
    body(&a)
    return a
  }

  func trainLosses(_ trainer: Trainer) -> [Double] {
    trainer.state.logHistory.compactMap { $0["eval_loss"] == nil ? $0["loss"] : nil }
  }

  /// Stopping after step 12 and resuming gives exactly the uninterrupted loss sequence.
  func testResumeIsBitIdentical() throws {
    let (full, _) = makeTrainer(args())
    try full.train()
    let reference = trainLosses(full)
    XCTAssertEqual(reference.count, 24)
    XCTAssertLessThan(reference.last!, reference.first! * 0.5, "training should reduce the loss")
    try FileManager.default.removeItem(atPath: dir)

    // Same 24-step run, interrupted after step 12 (a callback stops it), then resumed.
    let (first, _) = makeTrainer(args())
    first.callbacks.append(StopAt(step: 12))
    try first.train()
    XCTAssertEqual(first.state.globalStep, 12)
    let (resumed, _) = makeTrainer(args { $0.resumeFromCheckpoint = dir + "/checkpoint-12" })
    try resumed.train()
    XCTAssertEqual(trainLosses(resumed), reference)
  }

  func testSaveTotalLimitRotatesOldCheckpoints() throws {
    let (t, _) = makeTrainer(args { $0.saveTotalLimit = 2 })
    try t.train()
    XCTAssertEqual(t.checkpoints().map { ($0 as NSString).lastPathComponent }, ["checkpoint-18", "checkpoint-24"])
    for c in t.checkpoints() {
      for f in ["model.safetensors", "optimizer.safetensors", "trainer_state.json", "scheduler.json", "rng_state.json"] {
        XCTAssertTrue(FileManager.default.fileExists(atPath: c + "/" + f), "\(c)/\(f)")
      }
    }
    let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 24)
  }

  func testLoadBestModelAtEndPicksTheBestCheckpoint() throws {
    let model = Regressor()
    let (t, _) = makeTrainer(args {
      $0.evalStrategy = .steps; $0.evalSteps = 6; $0.loadBestModelAtEnd = true; $0.saveTotalLimit = 1
      // A learning rate that diverges late makes an early checkpoint the best.
      $0.learningRate = 0.3; $0.lrSchedulerType = .constant; $0.maxGradNorm = 0
    }, model: model)
    try t.train()
    let evals = t.state.logHistory.compactMap { r -> (Double, Double)? in r["eval_loss"].map { (r["step"]!, $0) } }
    let best = evals.min { $0.1 < $1.1 }!
    XCTAssertEqual(t.state.bestModelCheckpoint, dir + "/checkpoint-\(Int(best.0))")
    XCTAssertEqual(t.state.bestMetric!, best.1, accuracy: 1e-12)
    // The model now holds the best checkpoint's weights.
    let saved = try SafeTensors.load(t.state.bestModelCheckpoint! + "/model.safetensors")
    XCTAssertEqual(model.stateDict()["out.weight"]!.floats, saved["out.weight"]!.floats)
    // Rotation with limit 1 keeps the best checkpoint (and the newest if different).
    XCTAssertTrue(t.checkpoints().contains(t.state.bestModelCheckpoint!))
  }

  /// A checkpoint interrupted mid-write (a leftover temporary directory, or a crash
  /// before the rename) leaves the previous checkpoint loadable and resumable.
  func testInterruptedCheckpointLeavesPreviousOneLoadable() throws {
    let (t, _) = makeTrainer(args { $0.maxSteps = 12 })
    try t.train()
    // Simulate a crash while writing checkpoint-18: a half-written temporary directory.
    let tmp = dir + "/.checkpoint-18.tmp-999"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: tmp + "/model.safetensors", contents: Data([1, 2, 3]))
    XCTAssertEqual(t.checkpoints().last, dir + "/checkpoint-12")
    let (resumed, _) = makeTrainer(args { $0.maxSteps = 18; $0.resumeFromCheckpoint = "latest" })
    try resumed.train()
    XCTAssertEqual(resumed.state.globalStep, 18)
    XCTAssertNotNil(try SafeTensorsFile(path: dir + "/checkpoint-18/model.safetensors"))
  }

  func testBadArgumentsAreRejected() throws {
    XCTAssertThrowsError(try makeTrainer(args { $0.perDeviceTrainBatchSize = 0 }).0.train()) {
      XCTAssertTrue("\($0)".contains("per_device_train_batch_size"))
    }
    XCTAssertThrowsError(try makeTrainer(args { $0.loadBestModelAtEnd = true }).0.train()) {
      XCTAssertTrue("\($0)".contains("needs an eval_strategy"))
    }
    // lr_scheduler_type is typed: an unknown name fails where it is parsed (CLI flag or JSON).
    XCTAssertThrowsError(try SchedulerType(parsing: "zigzag")) {
      XCTAssertTrue("\($0)".contains("unknown lr_scheduler_type 'zigzag'"))
    }
    try makeTrainer(args { $0.maxSteps = 2 }).0.train()
    XCTAssertThrowsError(try makeTrainer(args { $0.maxSteps = 2 }).0.train()) {
      XCTAssertTrue("\($0)".contains("already exists and is not empty"))
    }
  }

  /// compute_metrics sees every evaluation prediction with its label; predict returns them.
  func testComputeMetricsAndPredict() throws {
    let model = Regressor()
    let evalSet = RegressionData(count: 32, seed: 4)
    var a = args { $0.maxSteps = 6; $0.evalStrategy = .steps; $0.evalSteps = 6 }
    a.perDeviceEvalBatchSize = 5
    let trainer = Trainer(
      model: model, args: a, trainDataset: RegressionData(count: 96, seed: 3), evalDataset: evalSet,
      computeLoss: { b in Loss.mse(model(b.inputs), b.labels) },
      computeMetrics: { p in
        let err = (p.predictions! - p.labelIds!).abs().mean().item()
        return ["mae": err, "count": Double(p.predictions!.shape[0])]
      },
      predictionStep: { b in model(b.inputs) })
    try trainer.train()
    let evalLog = trainer.state.logHistory.first { $0["eval_mae"] != nil }!
    XCTAssertEqual(evalLog["eval_count"], 32)
    let (predictions, labels, metrics) = try trainer.predict(evalSet)
    XCTAssertEqual(predictions.shape, [32, 1])
    XCTAssertEqual(labels.floats, evalSet.y)
    XCTAssertEqual(metrics["test_mae"]!, (predictions - labels).abs().mean().item(), accuracy: 1e-6)
    XCTAssertEqual(metrics["test_mae"]!, evalLog["eval_mae"]!, accuracy: 1e-6)
  }

  func testEarlyStoppingCallbackStopsTraining() throws {
    let (t, _) = makeTrainer(args {
      $0.maxSteps = 200; $0.evalStrategy = .steps; $0.evalSteps = 2; $0.learningRate = 0; $0.warmupSteps = 0
    })
    t.callbacks.append(EarlyStoppingCallback(patience: 2))
    try t.train()
    XCTAssertLessThan(t.state.globalStep, 200)
  }
}
