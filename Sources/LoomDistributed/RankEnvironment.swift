import Foundation
import LoomCore

/// Where this process sits in a distributed run, read from the launcher's environment:
/// OpenMPI's `mpirun` (OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK/LOCAL_SIZE) or torchrun's names
/// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE). Neither: a world of one process.
public struct RankEnvironment: Equatable, Sendable {
  public var rank = 0
  public var worldSize = 1
  public var localRank = 0
  public var localWorldSize = 1
  /// Started by OpenMPI's mpirun (so MPI can connect the ranks).
  public var launchedByMPI = false

  public init() {}

  public init(_ env: [String: String]) throws {
    func number(_ name: String, min: Int) throws -> Int? {
      guard let text = env[name] else { return nil }
      guard let v = Int(text.trimmingCharacters(in: .whitespaces)), v >= min else {
        throw LoomError("environment variable \(name) must be a whole number >= \(min), got '\(text)'")
      }
      return v
    }
    let mpi = (
      try number("OMPI_COMM_WORLD_RANK", min: 0), try number("OMPI_COMM_WORLD_SIZE", min: 1),
      try number("OMPI_COMM_WORLD_LOCAL_RANK", min: 0), try number("OMPI_COMM_WORLD_LOCAL_SIZE", min: 1)
    )
    let torch = (
      try number("RANK", min: 0), try number("WORLD_SIZE", min: 1), try number("LOCAL_RANK", min: 0),
      try number("LOCAL_WORLD_SIZE", min: 1)
    )
    if let size = mpi.1 {
      launchedByMPI = true
      worldSize = size
      rank = mpi.0 ?? 0
      localRank = mpi.2 ?? rank
      localWorldSize = mpi.3 ?? size
      // torchrun's names, when also set, must say the same.
      for (name, theirs, ours) in [("RANK", torch.0, rank), ("WORLD_SIZE", torch.1, worldSize)] {
        if let theirs, theirs != ours {
          throw LoomError(
            "\(name)=\(theirs) contradicts mpirun's \(ours) (OMPI_COMM_WORLD_\(name == "RANK" ? "RANK" : "SIZE")): unset \(name) or launch without it"
          )
        }
      }
    } else if let size = torch.1 {
      worldSize = size
      rank = torch.0 ?? 0
      localRank = torch.2 ?? rank
      localWorldSize = torch.3 ?? size
    }
    guard rank < worldSize else {
      throw LoomError("rank \(rank) is not below the world size \(worldSize) (check RANK / WORLD_SIZE)")
    }
    guard localRank < localWorldSize else {
      throw LoomError("local rank \(localRank) is not below the local world size \(localWorldSize)")
    }
    if worldSize > 1 && !launchedByMPI {
      throw LoomError(
        "WORLD_SIZE=\(worldSize) but this process was not started by mpirun: Loom's ranks talk over MPI. Run `loom launch --nproc-per-node \(worldSize) …` or `mpirun -np \(worldSize) loom …`"
      )
    }
  }

  /// Threads per rank when LOOM_NUM_THREADS is not set: the cores shared by the ranks on this machine.
  public func defaultThreads(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
    max(1, cores / max(1, localWorldSize))
  }
}
