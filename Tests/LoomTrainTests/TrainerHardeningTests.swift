import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomTrain
import XCTest

/// Puts NaN into a weight right after the optimizer step of `step` (a diverged update).
final class PoisonWeights: TrainerCallback {
  let step: Int
  let weight: Tensor
  init(step: Int, weight: Tensor) {
    self.step = step
    self.weight = weight
  }
  func onOptimizerStep(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    if state.globalStep + 1 == step { weight.fill(.nan) }
  }
}

/// Issue #13: NaN-safe training, argument validation by name, checkpoint leftovers.
final class TrainerHardeningTests: XCTestCase {
  var dir: String!
  override func setUp() {
    TestDevice.apply()
    dir = NSTemporaryDirectory() + "loom-trainer-hard-\(UUID().uuidString)"
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func args(_ body: (inout TrainingArguments) -> Void = { _ in }) -> TrainingArguments {
    var a = TrainingArguments(outputDir: dir)
    a.maxSteps = 12
    a.perDeviceTrainBatchSize = 8
    a.learningRate = 0.05
    a.loggingSteps = 1
    a.saveSteps = 3
    body(&a)
    return a
  }

  /// A trainer whose loss is NaN on micro-batches `nanFrom...` (counted from 1 over the
  /// training micro-batches of this trainer), like a diverged run.
  func trainer(_ args: TrainingArguments, model: Regressor = Regressor(), nanFrom: Int = .max) -> Trainer {
    var calls = 0
    return Trainer(
      model: model, args: args, trainDataset: RegressionData(count: 96, seed: 3),
      evalDataset: RegressionData(count: 32, seed: 4),
      computeLoss: { b in
        let loss = Loss.mse(model(b.inputs), b.labels)
        guard model.training else { return loss }
        calls += 1
        return calls >= nanFrom ? loss * Double.nan : loss
      })
  }

  func jsonLines(_ path: String) throws -> [[String: Any]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
      .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
  }

  /// HF logs nan and goes on; Loom writes it as null in metrics.jsonl and trainer_state.json
  /// (both strict JSON) and resumes from such a checkpoint with NaN back in log_history.
  /// On main this threw "Invalid number value (nan) in JSON write" at the first NaN log.
  func testNaNLossIsLoggedAsNullAndTrainingGoesOn() throws {
    // logging_nan_inf_filter (on by default, as in HF) would log a filtered loss instead.
    let t = trainer(
      args { $0.maxSteps = 6; $0.evalStrategy = .steps; $0.evalSteps = 3; $0.loggingNanInfFilter = false }, nanFrom: 5)
    let state = try t.train()
    XCTAssertEqual(state.globalStep, 6)
    let losses = state.logHistory.compactMap { $0["loss"] }
    XCTAssertEqual(losses.count, 6)
    XCTAssertTrue(losses[..<4].allSatisfy(\.isFinite), "\(losses)")
    XCTAssertTrue(losses[4...].allSatisfy(\.isNaN), "\(losses)")
    let rows = try jsonLines(dir + "/metrics.jsonl").filter { $0["loss"] != nil }
    XCTAssertEqual(rows.count, 6)
    XCTAssertTrue(rows[4]["loss"] is NSNull, "\(rows[4])")
    XCTAssertEqual(rows[3]["loss"] as? Double, losses[3])
    // The checkpoint after the NaN is strict JSON with null, and reads back as NaN.
    let stateFile = dir + "/checkpoint-6/trainer_state.json"
    let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stateFile))) as! [String: Any]
    let history = raw["log_history"] as! [[String: Any]]
    XCTAssertTrue(history.contains { $0["loss"] is NSNull })
    let decoded = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: URL(fileURLWithPath: stateFile)))
    XCTAssertEqual(decoded.logHistory.compactMap { $0["loss"] }.filter(\.isNaN).count, 2)
    let resumed = trainer(args { $0.maxSteps = 7; $0.resumeFromCheckpoint = "latest" })
    XCTAssertEqual(try resumed.train().globalStep, 7)
  }

  /// stop_on_nan: the first NaN loss ends the run with an error naming the step and the
  /// last good checkpoint; the NaN step is logged (as null) but never checkpointed.
  func testStopOnNaNNamesTheStepAndKeepsTheLastGoodCheckpoint() throws {
    let t = trainer(args { $0.stopOnNaN = true }, nanFrom: 8)
    XCTAssertThrowsError(try t.train()) {
      let message = "\($0)"
      XCTAssertTrue(message.contains("training stopped at step 8: the training loss is nan"), message)
      XCTAssertTrue(message.contains("the last good checkpoint is \(self.dir!)/checkpoint-6"), message)
    }
    XCTAssertEqual(t.checkpoints(), [dir + "/checkpoint-3", dir + "/checkpoint-6"])
    let rows = try jsonLines(dir + "/metrics.jsonl")
    XCTAssertEqual(rows.last?["step"] as? Double, 8)
    XCTAssertTrue(rows.last?["loss"] is NSNull)
    // The kept checkpoint resumes.
    let resumed = trainer(args { $0.resumeFromCheckpoint = "latest" })
    XCTAssertEqual(try resumed.train().globalStep, 12)
  }

  /// stop_on_nan never writes non-finite weights over the good checkpoints, even when the
  /// loss of the step that broke them was finite.
  func testStopOnNaNNeverCheckpointsNonFiniteWeights() throws {
    let model = Regressor()
    let t = trainer(args { $0.stopOnNaN = true }, model: model)
    t.addCallback(PoisonWeights(step: 9, weight: model.out.weight))
    XCTAssertThrowsError(try t.train()) {
      let message = "\($0)"
      XCTAssertTrue(message.contains("training stopped at step 9: weight out.weight is not finite, so checkpoint-9 was not written"), message)
    }
    XCTAssertEqual(t.checkpoints().last, dir + "/checkpoint-6")
    let saved = try SafeTensors.load(dir + "/checkpoint-6/model.safetensors")
    XCTAssertTrue(saved["out.weight"]!.floats.allSatisfy(\.isFinite))
  }

  /// Without stop_on_nan a NaN metric is never "best" and never resets early stopping.
  func testNaNMetricIsNeverTheBest() throws {
    let t = trainer(
      args {
        $0.evalStrategy = .steps; $0.evalSteps = 3; $0.loadBestModelAtEnd = true; $0.saveStrategy = .steps
      }, nanFrom: 8)
    try t.train()
    XCTAssertEqual(t.state.bestModelCheckpoint, dir + "/checkpoint-6")
    XCTAssertTrue(t.state.bestMetric!.isFinite)
    let stopper = EarlyStoppingCallback(patience: 2)
    var control = TrainerControl()
    for v in [1.0, .nan, .nan] { stopper.onEvaluate(["eval_loss": v], state: t.state, control: &control) }
    XCTAssertTrue(control.shouldTrainingStop, "two NaN evaluations are two without improvement")
  }

  /// Every numeric field is checked (finite, in range) and named, by the caller's naming.
  func testEveryBadArgumentIsNamed() throws {
    let cases: [(String, (inout TrainingArguments) -> Void)] = [
      ("num_train_epochs", { $0.numTrainEpochs = .nan; $0.maxSteps = -1 }),
      ("num_train_epochs", { $0.numTrainEpochs = .infinity }),
      ("num_train_epochs", { $0.numTrainEpochs = 1e300 }),
      ("max_steps", { $0.maxSteps = -5 }),
      ("learning_rate", { $0.learningRate = .infinity }),
      ("learning_rate", { $0.learningRate = .nan }),
      ("weight_decay", { $0.weightDecay = -1 }),
      ("adam_beta1", { $0.adamBeta1 = 1.5 }),
      ("adam_beta2", { $0.adamBeta2 = 1 }),
      ("adam_epsilon", { $0.adamEpsilon = -1e-8 }),
      ("sgd_momentum", { $0.sgdMomentum = .nan }),
      ("warmup_steps", { $0.warmupSteps = -1 }),
      ("warmup_ratio", { $0.warmupRatio = .nan }),
      ("max_grad_norm", { $0.maxGradNorm = .nan }),
      ("logging_steps", { $0.loggingSteps = 0 }),
      ("eval_steps", { $0.evalSteps = 0 }),
      ("eval_steps", { $0.evalSteps = -1 }),
      ("save_steps", { $0.saveSteps = 0 }),
      ("save_total_limit", { $0.saveTotalLimit = 0 }),
      ("per_device_eval_batch_size", { $0.perDeviceEvalBatchSize = 0 }),
      ("gradient_accumulation_steps", { $0.gradientAccumulationSteps = 0 }),
    ]
    for (field, change) in cases {
      let a = args(change)
      XCTAssertThrowsError(try a.validate(), field) {
        XCTAssertTrue("\($0)".hasPrefix(field + " must be"), "\(field): \($0)")
      }
      XCTAssertThrowsError(try a.validate { "--" + $0 }, field) {
        XCTAssertTrue("\($0)".hasPrefix("--" + field + " must be"), "\(field): \($0)")
      }
      XCTAssertThrowsError(try trainer(a).train(), field)
    }
    XCTAssertNoThrow(try args { $0.adamEpsilon = 0; $0.learningRate = 0; $0.warmupSteps = 0 }.validate())
  }

  /// A run killed while saving leaves `.checkpoint-N.tmp-PID`; the next run in that
  /// output directory removes those whose process is gone and leaves a live one's alone.
  func testOrphanedTemporaryCheckpointsAreRemoved() throws {
    try trainer(args { $0.maxSteps = 3 }).train()
    let dead = Process()
    dead.executableURL = URL(fileURLWithPath: "/bin/true")
    try dead.run()
    dead.waitUntilExit()
    let orphan = dir + "/.checkpoint-6.tmp-\(dead.processIdentifier)"
    let live = dir + "/.checkpoint-9.tmp-\(getppid())"
    for d in [orphan, live] {
      try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
      _ = FileManager.default.createFile(atPath: d + "/model.safetensors", contents: Data([1, 2]))
    }
    try trainer(args { $0.maxSteps = 6; $0.resumeFromCheckpoint = "latest" }).train()
    XCTAssertFalse(FileManager.default.fileExists(atPath: orphan))
    XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a running process's save is left alone")
    XCTAssertEqual(Trainer.checkpoints(in: dir), [dir + "/checkpoint-3", dir + "/checkpoint-6"])
  }
}
