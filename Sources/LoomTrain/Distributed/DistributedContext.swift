import LoomNN
import LoomOptim

/// The seam data parallelism plugs into the Trainer (LoomDistributed implements it over MPI).
/// Every rank runs the same loop on its shard of each epoch; the Trainer calls these at
/// fixed points, in the same order on every rank, so collectives always match up.
public protocol DistributedContext: AnyObject {
  var rank: Int { get }
  var worldSize: Int { get }
  /// Once per `train()`, after resuming: checks that every rank has the same `configuration`
  /// (a clear error on every rank otherwise), copies rank 0's parameters to the others and
  /// sets up the reduction of `model`'s gradients during backward.
  func prepare(model: Module, configuration: String) throws
  /// Before each micro-batch's backward: whether that backward's gradients are reduced
  /// across ranks (false on the micro-steps of gradient accumulation before the last: DDP's `no_sync`).
  func beginBackward(synchronize: Bool)
  /// After the last micro-batch's backward of an optimizer step: waits for the reductions,
  /// after which every rank holds the same averaged gradients.
  func finishGradientReduction() throws
  /// Element-wise sums over ranks (logged losses, throughput).
  func sum(_ values: [Double]) throws -> [Double]
  /// Rank 0's flag on every rank (stop decisions made by callbacks that only rank 0 runs).
  func broadcast(_ flag: Bool) throws -> Bool
  func barrier() throws
  /// The optimizer every rank steps (ZeRO-1 wraps it so each rank keeps 1/N of its state).
  func wrapOptimizer(_ optimizer: any Optimizer) throws -> any Optimizer
  /// On every rank before rank 0 writes a checkpoint (ZeRO-1 gathers the optimizer state).
  func willSaveCheckpoint() throws
}

extension DistributedContext {
  public func wrapOptimizer(_ optimizer: any Optimizer) throws -> any Optimizer { optimizer }
  public func willSaveCheckpoint() throws {}

  /// HF's `is_world_process_zero`: the rank that logs, shows progress, evaluates and saves.
  public var isMainProcess: Bool { rank == 0 }
}
