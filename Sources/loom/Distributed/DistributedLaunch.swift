import Foundation
import LoomCore
import LoomDistributed
import LoomTrain

/// A `loom` process started by mpirun (or with torchrun's variables): joins the process
/// group before any command runs, checks that every rank got the same command line, and
/// makes every Trainer of the process data-parallel. Ranks other than 0 print nothing to
/// standard output (errors still reach standard error).
enum DistributedLaunch {
  nonisolated(unsafe) static var group: ProcessGroup?

  static func start() throws {
    let group = try ProcessGroup.fromEnvironment()
    guard group.worldSize > 1 else { return }
    self.group = group
    try group.verifySameConfiguration(
      CommandLine.arguments.dropFirst().joined(separator: "\n"), what: "command line")
    Trainer.defaultDistributed = TrainerDistributedContext(group: group)
    if group.rank != 0 { _ = freopen("/dev/null", "w", stdout) }
  }

  /// --ddp-timeout (seconds a collective waits before the run is stopped) and --zero-stage.
  static func configure(timeout: Double?, zeroStage: Int?) throws {
    if let timeout {
      guard timeout > 0, timeout.isFinite else { throw LoomError("--ddp-timeout must be a number of seconds > 0, got \(timeout)") }
      group?.timeout = timeout
    }
    if let zeroStage {
      guard zeroStage == 0 || zeroStage == 1 else {
        throw LoomError("--zero-stage must be 0 (plain data parallelism) or 1 (optimizer state sharded), got \(zeroStage)")
      }
      (Trainer.defaultDistributed as? TrainerDistributedContext)?.zeroStage = zeroStage
    }
  }

  /// Whether this process writes the run's final files (rank 0, or the only process).
  static var isMainProcess: Bool { (group?.rank ?? 0) == 0 }

  static func finish() { group?.finalize() }
}
