import Foundation
import LoomCore
import LoomNN
import LoomTrain
import XCTest

/// HF's `logging_nan_inf_filter` (default true): a NaN training loss is left out of the logged
/// running loss by HF's formula, NaN evaluation batches out of eval_loss; off, NaN is logged.
final class LoggingNanInfFilterTests: XCTestCase {
  var dir: String!
  override func setUp() {
    TestDevice.apply()
    dir = NSTemporaryDirectory() + "loom-nan-filter-\(UUID().uuidString)"
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func args(_ out: String, _ body: (inout TrainingArguments) -> Void = { _ in }) -> TrainingArguments {
    var a = TrainingArguments(outputDir: out)
    a.maxSteps = 9
    a.perDeviceTrainBatchSize = 8
    a.perDeviceEvalBatchSize = 8
    a.learningRate = 0.05
    a.loggingSteps = 3
    a.saveStrategy = .no
    body(&a)
    return a
  }

  /// Training micro-batches in `nanSteps` and evaluation batches in `nanEvalBatches` (both
  /// counted from 1) get a NaN added to their loss: the value is NaN, the gradient is not,
  /// so the run's weights are those of a clean run. Every evaluation batch loss is recorded.
  func trainer(
    _ args: TrainingArguments, nanSteps: Set<Int> = [], nanEvalBatches: Set<Int> = [],
    evalLosses: @escaping (Double) -> Void = { _ in }
  ) -> Trainer {
    let model = Regressor()
    var calls = 0, evalCalls = 0
    return Trainer(
      model: model, args: args, trainDataset: RegressionData(count: 96, seed: 3),
      evalDataset: RegressionData(count: 32, seed: 4),
      computeLoss: { b in
        let loss = Loss.mse(model(b.inputs), b.labels)
        let nan = Tensor.scalar(.nan, dtype: loss.dtype, device: loss.device)
        guard model.training else {
          evalCalls += 1
          evalLosses(loss.item())
          return nanEvalBatches.contains(evalCalls) ? loss + nan : loss
        }
        calls += 1
        return nanSteps.contains(calls) ? loss + nan : loss
      })
  }

  func losses(_ state: TrainerState) -> [Double] { state.logHistory.compactMap { $0["loss"] } }

  func testNaNStepsAreFilteredWithHFsFormula() throws {
    // Every step's loss of the same run without NaN.
    let clean = losses(try trainer(args(dir + "/clean") { $0.loggingSteps = 1 }).train())
    XCTAssertEqual(clean.count, 9)
    let l = [0.0] + clean  // l[k]: step k's loss

    let filtered = losses(try trainer(args(dir + "/filtered"), nanSteps: [4, 8]).train())
    // Step 4 opens a window: HF adds tr_loss / (1 + 0) = 0. Step 8 follows one step of its
    // window: it adds l7 / (1 + 1).
    XCTAssertEqual(filtered.count, 3)
    XCTAssertEqual(filtered[0], (l[1] + l[2] + l[3]) / 3, accuracy: 1e-12)
    XCTAssertEqual(filtered[1], (0 + l[5] + l[6]) / 3, accuracy: 1e-12)
    XCTAssertEqual(filtered[2], (l[7] + l[7] / 2 + l[9]) / 3, accuracy: 1e-12)

    let raw = losses(try trainer(args(dir + "/raw") { $0.loggingNanInfFilter = false }, nanSteps: [4, 8]).train())
    XCTAssertEqual(raw[0], filtered[0])
    XCTAssertTrue(raw[1].isNaN && raw[2].isNaN, "\(raw)")
    let rows = try String(contentsOfFile: dir + "/raw/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    XCTAssertEqual(rows.filter { $0["loss"] is NSNull }.count, 2, "\(rows)")
  }

  func testNaNEvaluationBatchesAreLeftOutOfEvalLoss() throws {
    for filter in [true, false] {
      var batchLosses: [Double] = []
      let t = trainer(
        args(dir + "/eval-\(filter)") { $0.maxSteps = 1; $0.loggingNanInfFilter = filter }, nanEvalBatches: [2],
        evalLosses: { batchLosses.append($0) })
      try t.train()
      let metrics = t.evaluate()
      XCTAssertEqual(batchLosses.count, 4, "32 examples in batches of 8")
      let loss = try XCTUnwrap(metrics["eval_loss"])
      if filter {
        XCTAssertEqual(loss, (batchLosses[0] + batchLosses[2] + batchLosses[3]) / 3, accuracy: 1e-6)
      } else {
        XCTAssertTrue(loss.isNaN, "\(loss)")
      }
    }
    // Every batch NaN: nothing is left to average, so eval_loss is NaN (as in HF).
    let t = trainer(args(dir + "/eval-all") { $0.maxSteps = 1 }, nanEvalBatches: [1, 2, 3, 4])
    try t.train()
    XCTAssertTrue(try XCTUnwrap(t.evaluate()["eval_loss"]).isNaN)
  }

  func testTheFieldKeepsHFsNameAndDefault() throws {
    let a = TrainingArguments(outputDir: dir)
    XCTAssertTrue(a.loggingNanInfFilter)
    let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(a)) as! [String: Any]
    XCTAssertEqual(json["logging_nan_inf_filter"] as? Bool, true)
  }
}
