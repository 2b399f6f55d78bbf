import Foundation
import LoomCore
import LoomNN
import XCTest

@testable import LoomDistributed

/// The collectives and DDP on real ranks: the test runner itself is started under
/// `mpirun -np N` with LOOM_MPI_WORKER set, runs `testWorker` on every rank, and each rank
/// checks its results; the outer test checks that every rank passed.
final class CollectivesMPITests: XCTestCase {
  func testCollectivesOnTwoAndThreeRanks() throws {
    let mpirun = try MPIRun.mpirun()
    let runner = "/proc/self/exe"
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: runner)) ?? CommandLine.arguments[0]
    for n in [2, 3] {
      let r = try MPIRun.run(
        [mpirun] + MPIRun.flags(n) + [exe, "LoomDistributedTests.CollectivesMPITests/testWorker"],
        environment: ["LOOM_MPI_WORKER": "1"], timeout: 120)
      XCTAssertFalse(r.timedOut, "\(n) ranks hung")
      XCTAssertEqual(r.status, 0, "\(n) ranks:\n\(r.out)\n\(r.err)")
      let passed = r.out.components(separatedBy: "Executed 1 test, with 0 failures").count - 1
      XCTAssertGreaterThanOrEqual(passed, n, "every rank ran the worker:\n\(r.out)")
    }
  }

  func testWorker() throws {
    guard ProcessInfo.processInfo.environment["LOOM_MPI_WORKER"] != nil else {
      throw XCTSkip("runs only under mpirun (started by testCollectivesOnTwoAndThreeRanks)")
    }
    let g = try ProcessGroup.fromEnvironment()
    defer { g.finalize() }
    let r = Float(g.rank), n = Float(g.worldSize)
    XCTAssertGreaterThan(g.worldSize, 1)
    g.timeout = 60

    let t = Tensor([r + 1, 2 * (r + 1)])
    try g.allReduce(t)
    XCTAssertEqual(t.floats, [n * (n + 1) / 2, n * (n + 1)])
    let avg = Tensor([r, 1])
    try g.allReduceAsync(avg, op: .avg).wait()
    XCTAssertEqual(avg.floats, [(n - 1) / 2, 1])
    let mx = Tensor([r, -r])
    try g.allReduce(mx, op: .max)
    XCTAssertEqual(mx.floats, [n - 1, 0])
    XCTAssertEqual(try g.allReduce([Double(g.rank), 1]), [Double(n * (n - 1) / 2), Double(n)])

    let gathered = try g.allGather(Tensor([r, 10 * r]))
    XCTAssertEqual(gathered.shape, [g.worldSize, 2])
    XCTAssertEqual(gathered.floats, (0..<g.worldSize).flatMap { [Float($0), 10 * Float($0)] })

    let b = Tensor([r * 10 + 1])
    try g.broadcast(b, from: 1)
    XCTAssertEqual(b.floats, [11])

    // Rank r holds [k + r]; the sum over ranks of element k is n·k + n(n − 1)/2; rank r keeps chunk r.
    let scattered = try g.reduceScatter(Tensor((0..<(2 * g.worldSize)).map { Float($0) + r }, shape: [g.worldSize, 2]))
    XCTAssertEqual(scattered.shape, [1, 2])
    XCTAssertEqual(scattered.floats, [0, 1].map { n * (2 * r + Float($0)) + n * (n - 1) / 2 })
    try g.barrier()

    try g.verifySameConfiguration("same everywhere")
    XCTAssertThrowsError(try g.verifySameConfiguration("rank \(g.rank)", what: "test setup")) { error in
      XCTAssertTrue("\(error)".contains("ranks disagree on the test setup"), "\(error)")
      if g.rank > 0 { XCTAssertTrue("\(error)".contains("rank 0 has `rank 0`, this rank `rank \(g.rank)`"), "\(error)") }
    }

    try checkDDP(g)
  }

  /// Rank-specific initial weights become rank 0's; the gradients after a synchronized
  /// backward are the average of every rank's local ones (several buckets, no_sync included).
  func checkDDP(_ g: ProcessGroup) throws {
    manualSeed(UInt64(10 + g.rank))
    let model = Sequential(Linear(3, 5), Linear(5, 2))
    let ddp = try DistributedDataParallel(model, group: g, bucketCapMB: 12 / 1_048_576)
    XCTAssertGreaterThan(ddp.buckets.count, 1)
    for p in model.parameters() {
      let all = try g.allGather(p.detach()).floats, m = p.count
      for k in 1..<g.worldSize { XCTAssertEqual(Array(all[(k * m)..<((k + 1) * m)]), Array(all[0..<m]), "parameters equal rank 0's") }
    }
    func batch(_ i: Int) -> Tensor {
      Tensor((0..<6).map { Float($0 + i) * 0.1 + Float(g.rank) }, shape: [2, 3])
    }
    // The expected gradient: local gradients of both micro-batches, averaged over ranks.
    ddp.noSync {
      model(batch(0)).square().mean().backward()
      model(batch(1)).square().mean().backward()
    }
    var expected: [Tensor] = []
    for p in model.parameters() {
      let e = p.grad!.contiguousCopy()
      try g.allReduce(e, op: .avg)
      expected.append(e)
      p.zeroGrad()
    }
    ddp.noSync { model(batch(0)).square().mean().backward() }
    model(batch(1)).square().mean().backward()
    try ddp.finishGradientSynchronization()
    for (p, e) in zip(model.parameters(), expected) {
      for (a, b) in zip(p.grad!.floats, e.floats) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b))) }
    }
    XCTAssertGreaterThanOrEqual(ddp.waitSeconds, 0)
  }
}
