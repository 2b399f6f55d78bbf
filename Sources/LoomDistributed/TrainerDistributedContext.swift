import LoomCore
import LoomNN
import LoomOptim
import LoomTrain

/// The Trainer's `DistributedContext` on a process group: the configuration check, then
/// `DistributedDataParallel` around the model (buckets reduced during backward, `no_sync`
/// on the accumulation micro-steps before the last).
public final class TrainerDistributedContext: DistributedContext {
  public let group: ProcessGroup
  public let bucketCapMB: Double
  public private(set) var ddp: DistributedDataParallel?
  /// 1: DeepSpeed ZeRO stage 1 (optimizer state sharded over the ranks); 0: plain DDP.
  public var zeroStage = 0
  public private(set) var zero: ZeroRedundancyOptimizer?

  public init(group: ProcessGroup, bucketCapMB: Double = 25) {
    self.group = group
    self.bucketCapMB = bucketCapMB
  }

  public var rank: Int { group.rank }
  public var worldSize: Int { group.worldSize }

  public func prepare(model: Module, configuration: String) throws {
    try group.verifySameConfiguration(configuration, what: "training configuration")
    ddp = try DistributedDataParallel(model, group: group, bucketCapMB: bucketCapMB)
  }

  public func beginBackward(synchronize: Bool) { ddp?.requireBackwardGradSync = synchronize }

  public func finishGradientReduction() throws { try ddp?.finishGradientSynchronization() }

  public func sum(_ values: [Double]) throws -> [Double] { try group.allReduce(values) }

  public func broadcast(_ flag: Bool) throws -> Bool {
    let bytes = try group.broadcast(bytes: [flag ? 1 : 0], from: 0, what: "broadcast of a stop flag")
    return bytes.first == 1
  }

  public func barrier() throws { try group.barrier() }

  public func wrapOptimizer(_ optimizer: any Optimizer) throws -> any Optimizer {
    guard zeroStage == 1 else { return optimizer }
    let zero = try ZeroRedundancyOptimizer(optimizer, group: group)
    self.zero = zero
    return zero
  }

  public func willSaveCheckpoint() throws { try zero?.consolidate() }
}
