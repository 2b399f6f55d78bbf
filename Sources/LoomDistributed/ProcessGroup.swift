import CMPI
import Dispatch
import Foundation
import LoomCore

#if canImport(Glibc)
  import Glibc
#endif

/// The ranks of a data-parallel run and the collectives between them (torch.distributed's
/// process group, on MPI). A world of one process never touches MPI, so single-process runs
/// need no mpirun. Every wait has a deadline (`timeout`): a rank that died or hangs stops the
/// job with a message (MPI_Abort) instead of leaving the others waiting forever.
public final class ProcessGroup {
  public let rank: Int
  public let worldSize: Int
  public let localRank: Int
  public let localWorldSize: Int
  /// Seconds a collective may wait for the other ranks (HF's ddp_timeout, default 1800;
  /// LOOM_DDP_TIMEOUT sets it from the environment).
  public var timeout: Double
  let usesMPI: Bool
  var comm: MPI_Comm? = nil

  /// The group this process belongs to, from the launcher's environment (see
  /// `RankEnvironment`). Sets the threads per rank (LOOM_NUM_THREADS, unless set) to the
  /// cores / local ranks before any kernel runs, and initialises MPI when launched by mpirun.
  public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
    -> ProcessGroup
  {
    let place = try RankEnvironment(env)
    var timeout = 1800.0
    if let text = env["LOOM_DDP_TIMEOUT"] {
      guard let t = Double(text), t > 0, t.isFinite else {
        throw LoomError("LOOM_DDP_TIMEOUT must be a number of seconds > 0, got '\(text)'")
      }
      timeout = t
    }
    if place.worldSize > 1 && env["LOOM_NUM_THREADS"] == nil {
      let threads = String(place.defaultThreads())
      for name in ["LOOM_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"] where env[name] == nil {
        setenv(name, threads, 1)
      }
    }
    return try ProcessGroup(place, timeout: timeout)
  }

  /// A world of one process (no MPI).
  public convenience init() { try! self.init(RankEnvironment(), timeout: 1800) }

  init(_ place: RankEnvironment, timeout: Double) throws {
    rank = place.rank
    worldSize = place.worldSize
    localRank = place.localRank
    localWorldSize = place.localWorldSize
    self.timeout = timeout
    usesMPI = place.launchedByMPI
    guard usesMPI else { return }
    var initialized: Int32 = 0
    MPI_Initialized(&initialized)
    if initialized == 0 {
      var provided: Int32 = 0
      // Serialized: the main thread calls MPI (the data loader's worker never does).
      try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided), "MPI_Init_thread")
    }
    comm = loom_mpi_comm_world()
    MPI_Comm_set_errhandler(comm, loom_mpi_errors_return())
    var r: Int32 = 0, n: Int32 = 0
    MPI_Comm_rank(comm, &r)
    MPI_Comm_size(comm, &n)
    guard Int(r) == rank, Int(n) == worldSize else {
      throw LoomError("MPI says rank \(r) of \(n), the environment rank \(rank) of \(worldSize): launch with mpirun")
    }
  }

  /// Ends MPI cleanly (all ranks, at the end of a successful run).
  public func finalize() {
    guard usesMPI else { return }
    var finalized: Int32 = 0
    MPI_Finalized(&finalized)
    if finalized == 0 { MPI_Finalize() }
  }

  // MARK: errors and waiting

  func check(_ code: Int32, _ what: String) throws {
    guard code != Int32(MPI_SUCCESS) else { return }
    var text = [CChar](repeating: 0, count: 1024)  // above MPI_MAX_ERROR_STRING (256)
    var length: Int32 = 0
    MPI_Error_string(code, &text, &length)
    throw LoomError("rank \(rank): \(what) failed: \(String(cString: text))")
  }

  /// Stops every rank with `message` on this rank's standard error.
  public func abort(_ message: String) -> Never {
    FileHandle.standardError.write("loom: rank \(rank) of \(worldSize): \(message)\n".data(using: .utf8)!)
    if let comm { MPI_Abort(comm, 1) }
    exit(1)
  }

  /// Polls `request` until it completes; past the deadline the job is aborted.
  func wait(_ request: inout MPI_Request?, _ what: String) throws {
    let start = DispatchTime.now().uptimeNanoseconds
    let limit = UInt64(timeout * 1e9)
    var done: Int32 = 0
    var polls = 0
    while true {
      try check(MPI_Test(&request, &done, loom_mpi_status_ignore()), what)
      if done != 0 { return }
      if DispatchTime.now().uptimeNanoseconds - start > limit {
        abort(
          "\(what) did not finish within \(ProcessGroupFormat.seconds(timeout)): another rank died, hangs or runs a different step. Stopping every rank (raise the limit with --ddp-timeout or LOOM_DDP_TIMEOUT if a step is that slow)"
        )
      }
      // Yield the core first (ranks may share cores), then sleep briefly.
      polls += 1
      if polls < 2000 { sched_yield() } else { usleep(50) }
    }
  }

  /// Drives MPI's progress engine (non-blocking collectives advance inside MPI calls).
  func test(_ request: inout MPI_Request?) -> Bool {
    var done: Int32 = 0
    MPI_Test(&request, &done, loom_mpi_status_ignore())
    return done != 0
  }
}

enum ProcessGroupFormat {
  static func seconds(_ s: Double) -> String { s == s.rounded() ? "\(Int(s)) s" : "\(s) s" }
}
