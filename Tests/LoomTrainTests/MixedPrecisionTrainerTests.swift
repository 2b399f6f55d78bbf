import Foundation
import LoomCore
import LoomNN
import LoomTrain
import XCTest

/// TrainingArguments' `bf16` / `fp16`: the forward under autocast, float32 master weights, and
/// for fp16 a GradScaler whose overflowing steps are skipped (weights and schedule untouched).
final class MixedPrecisionTrainerTests: XCTestCase {
  var dir: String!
  override func setUp() {
    TestDevice.apply()
    dir = NSTemporaryDirectory() + "loom-mixed-\(UUID().uuidString)"
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func args(_ out: String, _ body: (inout TrainingArguments) -> Void = { _ in }) -> TrainingArguments {
    var a = TrainingArguments(outputDir: out)
    a.maxSteps = 8
    a.perDeviceTrainBatchSize = 8
    a.learningRate = 0.05
    a.loggingSteps = 1
    a.saveStrategy = .no
    body(&a)
    return a
  }

  /// A regressor whose prediction is multiplied by 1e5 before the loss in `overflowSteps`: that
  /// overflows the float16 activation (float16's largest finite value is 65504). `initScale`
  /// 1024 keeps this regression's scaled float16 gradients finite otherwise.
  func trainer(_ args: TrainingArguments, overflowSteps: Set<Int> = [], initScale: Double = 1024)
    -> (Trainer, Regressor, () -> [DType])
  {
    let model = Regressor()
    var calls = 0
    var predictionTypes: [DType] = []
    let trainer = Trainer(
      model: model, args: args, trainDataset: RegressionData(count: 96, seed: 3),
      computeLoss: { b in
        calls += 1
        var prediction = model(b.inputs)
        predictionTypes.append(prediction.dtype)
        if overflowSteps.contains(calls) { prediction = prediction * 1e5 }
        return Loss.mse(prediction, b.labels)
      })
    trainer.gradScalerInitScale = initScale
    return (trainer, model, { predictionTypes })
  }

  func weights(_ m: Module) -> [Double] { m.parameters().flatMap { $0.toArray(Double.self) } }

  /// Trains and returns the steps (from 1) that left the weights unchanged.
  func unchangedSteps(_ t: Trainer, _ model: Module) throws -> [Int] {
    var sequence = [weights(model)]
    t.addCallback(WeightProbe { sequence.append(self.weights(model)) })
    _ = try t.train()
    XCTAssertTrue(sequence.last!.allSatisfy(\.isFinite))
    return (1..<sequence.count).filter { sequence[$0] == sequence[$0 - 1] }
  }

  func testFP16OverflowingStepsAreSkippedAndTheScaleBacksOff() throws {
    let (t, model, types) = trainer(args(dir + "/fp16") { $0.fp16 = true; $0.maxSteps = 6 }, overflowSteps: [2, 5])
    XCTAssertEqual(try unchangedSteps(t, model), [2, 5], "exactly the overflowing steps were skipped")
    XCTAssertEqual(t.state.globalStep, 6)
    let scaler = try XCTUnwrap(t.gradScaler)
    XCTAssertEqual(scaler.skippedSteps, 2)
    XCTAssertEqual(scaler.scale, 1024 / 4, "two backoffs, no growth within 2000 clean steps")
    XCTAssertEqual(types(), Array(repeating: .float16, count: 6), "the forward ran under float16 autocast")
    XCTAssertTrue(model.parameters().allSatisfy { $0.dtype == .float32 }, "float32 master weights")
  }

  /// With torch's default initial scale 2^16 this regression's float16 gradients overflow at
  /// first: the scaler skips steps and halves the scale until they fit, then every step runs.
  func testDefaultScaleBacksOffUntilGradientsFit() throws {
    let (t, model, _) = trainer(args(dir + "/default") { $0.fp16 = true }, initScale: 65536)
    let skipped = try unchangedSteps(t, model)
    XCTAssertFalse(skipped.isEmpty)
    XCTAssertEqual(skipped, Array(1...skipped.count), "only a prefix of steps is skipped: \(skipped)")
    XCTAssertEqual(t.gradScaler?.skippedSteps, skipped.count)
    XCTAssertEqual(t.gradScaler?.scale, 65536 / Double(1 << skipped.count))
  }

  func testFP16WithoutOverflowSkipsNothing() throws {
    let (t, model, _) = trainer(args(dir + "/clean") { $0.fp16 = true })
    XCTAssertEqual(try unchangedSteps(t, model), [])
    XCTAssertEqual(t.gradScaler?.skippedSteps, 0)
    XCTAssertEqual(t.gradScaler?.scale, 1024)
  }

  /// bf16 and fp16 training follow the float32 run closely (this regression's losses within 2 %).
  func testMixedPrecisionLossesTrackFloat32() throws {
    func losses(_ body: @escaping (inout TrainingArguments) -> Void, _ name: String) throws -> ([Double], [DType]) {
      let (t, model, types) = trainer(args(dir + "/" + name) { $0.maxSteps = 30; body(&$0) })
      let state = try t.train()
      XCTAssertTrue(model.parameters().allSatisfy { $0.dtype == .float32 }, name)
      XCTAssertEqual(t.gradScaler?.skippedSteps ?? 0, 0, name)
      return (state.logHistory.compactMap { $0["loss"] }, types())
    }
    let (float32, t32) = try losses({ _ in }, "f32")
    let (bf16, tb) = try losses({ $0.bf16 = true }, "bf16")
    let (fp16, th) = try losses({ $0.fp16 = true }, "fp16")
    XCTAssertEqual(Set(t32), [.float32])
    XCTAssertEqual(Set(tb), [.bfloat16])
    XCTAssertEqual(Set(th), [.float16])
    XCTAssertEqual(float32.count, 30)
    XCTAssertLessThan(float32.last!, float32.first! / 4, "the float32 run learns")
    for (name, run) in [("bf16", bf16), ("fp16", fp16)] {
      XCTAssertEqual(run.count, 30, name)
      XCTAssertNotEqual(run, float32, "\(name) rounds differently from float32")
      let tail = run.suffix(5).reduce(0, +), reference = float32.suffix(5).reduce(0, +)
      XCTAssertEqual(tail, reference, accuracy: 0.02 * reference, "\(name): mean of the last 5 losses")
    }
  }

  func testBF16AndFP16TogetherIsAnError() throws {
    var a = args(dir)
    a.bf16 = true
    a.fp16 = true
    XCTAssertThrowsError(try a.validate()) { e in
      XCTAssertTrue("\(e)".contains("bf16") && "\(e)".contains("fp16"), "\(e)")
    }
  }
}

/// Records the weights after every optimizer step.
final class WeightProbe: TrainerCallback {
  let body: () -> Void
  init(_ body: @escaping () -> Void) { self.body = body }
  func onStepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) { body() }
}
