import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomTrain
import XCTest

/// Example i of epoch e is the row [i, e, i·e] (epoch-dependent, like fresh noise).
struct Rows: TrainingDataset {
  let count: Int
  func batch(_ indices: [Int]) -> Batch { batch(indices, epoch: 0) }
  func batch(_ indices: [Int], epoch: Int) -> Batch {
    let t = Tensor(
      indices.flatMap { [Float($0), Float(epoch), Float($0 * epoch)] }, shape: [indices.count, 3])
    return Batch(inputs: t, labels: t)
  }
}

final class DataLoaderTests: XCTestCase {
  func ids(_ batches: some Sequence<Batch>) -> [[Int]] {
    batches.map { b in stride(from: 0, to: b.inputs.count, by: 3).map { Int(b.inputs.floats[$0]) } }
  }

  func testShuffledOrderIsReproduciblePerSeedAndEpoch() throws {
    let a = try DataLoader(Rows(count: 50), batchSize: 8, shuffle: true, seed: 3)
    let b = try DataLoader(Rows(count: 50), batchSize: 8, shuffle: true, seed: 3)
    let c = try DataLoader(Rows(count: 50), batchSize: 8, shuffle: true, seed: 4)
    XCTAssertEqual(a.batchIndices(epoch: 0), b.batchIndices(epoch: 0))
    XCTAssertNotEqual(a.batchIndices(epoch: 0), c.batchIndices(epoch: 0))
    XCTAssertNotEqual(a.batchIndices(epoch: 0), a.batchIndices(epoch: 1))
    // Every example once per epoch; successive loops walk epochs 0, 1, ….
    let first = ids(a)
    let second = ids(a)
    XCTAssertEqual(first.flatMap { $0 }.sorted(), Array(0..<50))
    XCTAssertEqual(first, b.batchIndices(epoch: 0))
    XCTAssertEqual(second, b.batchIndices(epoch: 1))
    XCTAssertEqual(a.nextEpoch, 2)
    // Resuming inside an epoch continues the same order.
    XCTAssertEqual(ids(b.epoch(1, from: 3)), Array(b.batchIndices(epoch: 1).dropFirst(3)))
    let plain = try DataLoader(Rows(count: 5), batchSize: 2)
    XCTAssertEqual(ids(plain), [[0, 1], [2, 3], [4]])
  }

  func testDropLastAndPartialLastBatch() throws {
    let keep = try DataLoader(Rows(count: 10), batchSize: 4, shuffle: true, seed: 1)
    XCTAssertEqual(keep.count, 3)
    XCTAssertEqual(keep.batchIndices(epoch: 0).map(\.count), [4, 4, 2])
    let drop = try DataLoader(Rows(count: 10), batchSize: 4, shuffle: true, seed: 1, dropLast: true)
    XCTAssertEqual(drop.count, 2)
    let batches = Array(drop.epoch(0))
    XCTAssertEqual(batches.map { $0.inputs.shape }, [[4, 3], [4, 3]])
    XCTAssertEqual(ids(batches), Array(keep.batchIndices(epoch: 0).prefix(2)))
  }

  /// The worker thread produces exactly the batches a plain loop collates, epoch included.
  func testPrefetchGivesIdenticalBatches() throws {
    let fast = try DataLoader(Rows(count: 37), batchSize: 5, shuffle: true, seed: 9, prefetch: true)
    let slow = try DataLoader(
      Rows(count: 37), batchSize: 5, shuffle: true, seed: 9, prefetch: false)
    for epoch in 0..<3 {
      let a = fast.epoch(epoch).map { $0.inputs.floats }
      let b = slow.epoch(epoch).map { $0.inputs.floats }
      XCTAssertEqual(a, b)
      XCTAssertEqual(a.count, 8)
      XCTAssertEqual(a[0][1], Float(epoch))
    }
    // Leaving a loop early stops the worker (this would hang otherwise).
    for _ in 0..<20 {
      for (i, _) in fast.epoch(0).enumerated() where i == 1 { break }
    }
  }

  func testBadConfigurationsThrow() {
    XCTAssertThrowsError(try DataLoader(Rows(count: 5), batchSize: 0)) {
      XCTAssertTrue("\($0)".contains("batch size must be >= 1"))
    }
    XCTAssertThrowsError(try DataLoader(Rows(count: 0), batchSize: 2)) {
      XCTAssertTrue("\($0)".contains("dataset is empty"))
    }
    XCTAssertThrowsError(try DataLoader(Rows(count: 5), batchSize: 6, dropLast: true)) {
      XCTAssertTrue("\($0)".contains("larger than the dataset (5 examples)"))
    }
    XCTAssertEqual(try DataLoader(Rows(count: 5), batchSize: 6).count, 1)
  }
}

/// Trainer: optimizer choice, exact resume for Adam and SGD, loss parts in the logs.
final class TrainerOptimTests: XCTestCase {
  var dir: String!
  override func setUp() { dir = NSTemporaryDirectory() + "loom-trainer-optim-\(UUID().uuidString)" }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func args(_ optim: String, _ body: (inout TrainingArguments) -> Void = { _ in }) throws
    -> TrainingArguments
  {
    var a = TrainingArguments(outputDir: dir)
    a.optim = try OptimizerNames(parsing: optim)
    a.sgdMomentum = 0.9
    a.maxSteps = 20
    a.perDeviceTrainBatchSize = 8
    a.learningRate = optim == "sgd" ? 0.05 : 0.02
    a.loggingSteps = 1
    a.saveSteps = 5
    a.weightDecay = 0.01
    body(&a)
    return a
  }

  func run(_ a: TrainingArguments, stopAt: Int? = nil) throws -> Trainer {
    let model = Regressor()
    let t = Trainer(
      model: model, args: a, trainDataset: RegressionData(count: 100, seed: 3),
      evalDataset: RegressionData(count: 20, seed: 4),
      computeLossOutput: { b in
        let err = model(b.inputs) - b.labels
        return LossOutput(loss: err.square().mean(), parts: ["mae": err.abs().mean()])
      })
    if let stopAt { t.callbacks.append(StopAt(step: stopAt)) }
    try t.train()
    return t
  }

  func losses(_ t: Trainer) -> [Double] {
    t.state.logHistory.compactMap { $0["eval_loss"] == nil ? $0["loss"] : nil }
  }

  func testResumeIsBitIdenticalForAdamAndSGD() throws {
    for optim in ["adam", "sgd"] {
      let reference = losses(try run(args(optim)))
      XCTAssertEqual(reference.count, 20)
      XCTAssertLessThan(
        reference.suffix(5).reduce(0, +), 0.5 * reference.prefix(5).reduce(0, +),
        "\(optim) should learn")
      try FileManager.default.removeItem(atPath: dir)
      XCTAssertEqual(try run(args(optim), stopAt: 10).state.globalStep, 10)
      let resumed = try run(args(optim) { $0.resumeFromCheckpoint = self.dir + "/checkpoint-10" })
      XCTAssertEqual(losses(resumed), reference, optim)
      let state = try SafeTensorsKeys.names(dir + "/checkpoint-20/optimizer.safetensors")
      XCTAssertTrue(
        state.contains(optim == "sgd" ? "0.momentum_buffer" : "0.exp_avg"), "\(optim): \(state)")
      // A checkpoint of one optimizer does not resume another.
      XCTAssertThrowsError(
        try run(
          args(optim == "sgd" ? "adam" : "sgd") {
            $0.resumeFromCheckpoint = self.dir + "/checkpoint-10"
          })
      ) {
        XCTAssertTrue("\($0)".contains("was written with optim '\(optim)'"))
      }
      try FileManager.default.removeItem(atPath: dir)
    }
  }

  /// The three optimizers take different first steps from the same weights.
  func testOptimizersDiffer() throws {
    var firstLosses: [Double] = []
    for optim in TrainingArguments.optimizers {
      firstLosses.append(
        losses(
          try run(
            args(optim.rawValue) {
              $0.maxSteps = 3
              $0.saveStrategy = .no
            }))[2])
      try FileManager.default.removeItem(atPath: dir)
    }
    XCTAssertEqual(Set(firstLosses).count, 3, "\(firstLosses)")
  }

  func testUnknownOptimizerIsRejected() {
    XCTAssertThrowsError(try run(args("lion"))) {
      XCTAssertTrue(
        "\($0)".contains("unknown optim 'lion'; valid values: adamw_torch, adam, sgd"), "\($0)")
    }
  }

  func testLossPartsAreLoggedForTrainingAndEvaluation() throws {
    let t = try run(
      args("adamw_torch") {
        $0.maxSteps = 4
        $0.evalStrategy = .steps
        $0.evalSteps = 2
        $0.saveStrategy = .no
      })
    let train = t.state.logHistory.filter { $0["loss"] != nil }
    XCTAssertEqual(train.count, 4)
    XCTAssertTrue(train.allSatisfy { $0["mae"]! > 0 && $0["mae"]! < 10 })
    let evals = t.state.logHistory.filter { $0["eval_loss"] != nil }
    XCTAssertEqual(evals.count, 2)
    // eval_mae is the mean absolute error over all 20 evaluation examples.
    XCTAssertTrue(
      evals.allSatisfy {
        $0["eval_mae"]! > 0 && $0["eval_mae"]! * $0["eval_mae"]! <= $0["eval_loss"]! + 1e-9
      })
  }
}

/// Names in a safetensors file.
enum SafeTensorsKeys {
  static func names(_ path: String) throws -> [String] { try SafeTensors.load(path).keys.sorted() }
}
