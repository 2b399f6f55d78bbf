import Foundation
import LoomCore

/// The Trainer's data-parallel pieces: the output directory made once, the configuration
/// every rank must share, and logged means averaged over ranks.
extension Trainer {
  /// Every rank checks the output directory; rank 0 alone prepares it (removing old
  /// checkpoints with overwrite_output_dir) while the others wait.
  func prepareOutputDirectoryOnMainProcess() throws {
    guard let ddp = activeDistributed else { return try prepareOutputDirectory() }
    try Self.checkOutputDirectory(args)
    try ddp.barrier()
    if ddp.isMainProcess { try prepareOutputDirectory() }
    try ddp.barrier()
  }

  /// What must be equal on every rank: the training arguments, the data set's size and
  /// the parameters' names and shapes.
  func distributedConfiguration() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]  // one field a line: a mismatch names it
    var text = String(decoding: try encoder.encode(args), as: UTF8.self)
    text += "\ntrain examples: \(trainDataset.count)\n"
    for (name, p) in model.namedParameters() { text += "\(name) \(p.shape) \(p.requiresGrad)\n" }
    return text
  }

  /// The running loss and parts as means over every rank's micro-batches (rank 0 logs the
  /// loss of the whole global batch, as one process would), and the throughput of all ranks.
  func reducedMeans(_ running: RunningLoss) throws -> [String: Double] {
    var logs = running.means()
    logs[throughputUnit.logKey] = running.throughput()
    guard let ddp = activeDistributed else { return logs }
    let keys = logs.keys.sorted()
    let sums = try ddp.sum(keys.map { logs[$0]! })
    for (key, sum) in zip(keys, sums) {
      logs[key] = key == throughputUnit.logKey ? sum : sum / Double(ddp.worldSize)
    }
    return logs
  }
}

/// Stands in for the progress bar on ranks other than 0.
final class SilentCallback: TrainerCallback {}
