import LoomCore
import LoomNN
import XCTest

@testable import LoomDistributed

/// The process group without MPI: where ranks come from, a world of one, the configuration
/// check's report, and DDP's gradients in one process.
final class ProcessGroupTests: XCTestCase {
  func testRankEnvironmentFromMPIAndTorchrun() throws {
    XCTAssertEqual(try RankEnvironment([:]), RankEnvironment())
    let mpi = try RankEnvironment([
      "OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "0",
      "OMPI_COMM_WORLD_LOCAL_SIZE": "2",
    ])
    XCTAssertEqual([mpi.rank, mpi.worldSize, mpi.localRank, mpi.localWorldSize], [2, 4, 0, 2])
    XCTAssertTrue(mpi.launchedByMPI)
    XCTAssertEqual(mpi.defaultThreads(cores: 16), 8, "cores / local ranks")
    XCTAssertEqual(mpi.defaultThreads(cores: 1), 1)
    // torchrun's names in a world of one need no MPI.
    let one = try RankEnvironment(["RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"])
    XCTAssertEqual(one.worldSize, 1)
    XCTAssertFalse(one.launchedByMPI)
    func fails(_ env: [String: String], _ text: String) {
      XCTAssertThrowsError(try RankEnvironment(env)) { XCTAssertTrue("\($0)".contains(text), "\($0)") }
    }
    fails(["RANK": "1", "WORLD_SIZE": "2"], "not started by mpirun")
    fails(["OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", "RANK": "0"], "RANK=0 contradicts mpirun's 1")
    fails(["WORLD_SIZE": "two"], "WORLD_SIZE must be a whole number >= 1, got 'two'")
    fails(["RANK": "3", "WORLD_SIZE": "1"], "rank 3 is not below the world size 1")
  }

  func testWorldOfOneCollectivesKeepValues() throws {
    let g = try ProcessGroup.fromEnvironment([:])
    XCTAssertEqual([g.rank, g.worldSize], [0, 1])
    let t = Tensor([1, 2, 3] as [Float])
    try g.allReduce(t, op: .avg)
    XCTAssertEqual(t.floats, [1, 2, 3])
    XCTAssertEqual(try g.allGather(t).shape, [1, 3])
    XCTAssertEqual(try g.reduceScatter(Tensor([4, 6] as [Float]), op: .sum).floats, [4, 6])
    try g.broadcast(t)
    try g.barrier()
    XCTAssertEqual(try g.allReduce([1.5, 2]), [1.5, 2])
    XCTAssertThrowsError(try g.allReduce(Tensor([1] as [Int64]))) { XCTAssertTrue("\($0)".contains("float32"), "\($0)") }
    XCTAssertThrowsError(try ProcessGroup.fromEnvironment(["LOOM_DDP_TIMEOUT": "0"])) {
      XCTAssertTrue("\($0)".contains("LOOM_DDP_TIMEOUT must be a number of seconds > 0"), "\($0)")
    }
    try g.verifySameConfiguration("anything")
  }

  func testConfigurationReportNamesTheFirstDifferingLine() {
    let d = ProcessGroup.firstDifference("a\nlearning_rate: 0.001\nc", "a\nlearning_rate: 0.01\nc")
    XCTAssertEqual(d, "line 2: rank 0 has `learning_rate: 0.001`, this rank `learning_rate: 0.01`")
    XCTAssertNotEqual(ProcessGroup.fnv1a("a"), ProcessGroup.fnv1a("b"))
    XCTAssertEqual(ProcessGroup.fnv1a(""), 0xcbf2_9ce4_8422_2325)
  }

  /// The post-accumulate hook fires once per leaf per backward, after all its paths are summed.
  func testGradientHookSeesTheFinalGradient() {
    let w = Tensor([2, 3] as [Float]).requiringGrad()
    var seen: [[Float]] = []
    w.registerPostAccumulateGradHook { seen.append($0.grad!.floats) }
    let x = Tensor([1, 1] as [Float])
    ((w * x).sum() + (w * w).sum()).backward()
    XCTAssertEqual(seen, [[5, 7]], "1 + 2w, once")
    w.removePostAccumulateGradHooks()
    (w * x).sum().backward()
    XCTAssertEqual(seen.count, 1)
  }

  /// In one process DDP leaves backward's gradients as they are.
  func testDDPInOneProcessKeepsGradients() throws {
    manualSeed(1)
    let model = Sequential(Linear(3, 4), Linear(4, 2))
    let ddp = try DistributedDataParallel(model, group: ProcessGroup(), bucketCapMB: 1e-5)
    XCTAssertEqual(ddp.buckets.count, 4, "a tiny cap puts each parameter in its own bucket")
    XCTAssertTrue(ddp.buckets[0].params[0] === model.parameters().last!, "reverse order")
    let x = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
    model(x).square().mean().backward()
    let grads = model.parameters().map { $0.grad!.floats }
    try ddp.finishGradientSynchronization()
    XCTAssertEqual(model.parameters().map { $0.grad!.floats }, grads)
  }
}
