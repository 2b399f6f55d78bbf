import Foundation
import LoomCore

/// Batches of a `TrainingDataset` (like torch.utils.data.DataLoader): a batch size, an
/// optional shuffle that draws one seeded permutation per epoch (the same seed and
/// epoch give the same order, so runs and resumed runs reproduce), drop_last, and a
/// background worker that collates the next batch while the current step runs.
///
/// `for batch in loader` walks the next epoch (0, 1, … on successive loops, like
/// PyTorch's reshuffling); `loader.epoch(e, from: k)` walks epoch `e` from its k-th batch.
///
/// Prefetching calls `dataset.batch(_:epoch:)` on a worker thread: collation must not
/// draw from `Generator.global` (seed any randomness from the epoch and the sample
/// index instead, as `ImageDataset` does). Tensors may be created there: the buffer
/// pool is locked and the kernel thread pool runs a second caller inline.
public final class DataLoader: Sequence {
  public let dataset: any TrainingDataset
  public let batchSize: Int
  public let shuffle: Bool
  public let seed: UInt64
  public let dropLast: Bool
  public let prefetch: Bool
  /// Data parallelism: this rank's shard of every epoch's order (nil: every example).
  public let sampler: DistributedSampler?
  /// The epoch the next `makeIterator()` walks; each loop advances it.
  public var nextEpoch = 0

  public init(
    _ dataset: any TrainingDataset, batchSize: Int, shuffle: Bool = false, seed: UInt64 = 0,
    dropLast: Bool = false,
    prefetch: Bool = true, sampler: DistributedSampler? = nil
  ) throws {
    guard batchSize >= 1 else {
      throw LoomError("DataLoader: batch size must be >= 1, got \(batchSize)")
    }
    guard dataset.count > 0 else {
      throw LoomError("DataLoader: the dataset is empty (0 examples)")
    }
    let examples = sampler?.numSamples(dataset.count) ?? dataset.count
    if dropLast && batchSize > examples {
      throw LoomError(
        "DataLoader: batch size \(batchSize) is larger than the \(sampler == nil ? "dataset" : "shard of each of \(sampler!.numReplicas) ranks") (\(examples) examples) and drop_last leaves no batch"
      )
    }
    self.dataset = dataset
    self.batchSize = batchSize
    self.shuffle = shuffle
    self.seed = seed
    self.dropLast = dropLast
    self.prefetch = prefetch
    self.sampler = sampler
  }

  /// Batches per epoch.
  public var count: Int {
    let n = sampler?.numSamples(dataset.count) ?? dataset.count
    return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize
  }

  /// Example indices of every batch of `epoch`, in order.
  public func batchIndices(epoch: Int) -> [[Int]] {
    var order: [Int]
    if shuffle {
      order = Tensor.randperm(
        dataset.count, generator: LoomCore.Generator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
      ).int64s.map(Int.init)
    } else {
      order = Array(0..<dataset.count)
    }
    if let sampler { order = sampler.indices(order) }
    let n = order.count
    var batches: [[Int]] = []
    batches.reserveCapacity(count)
    var i = 0
    while i < n {
      let end = Swift.min(i + batchSize, n)
      if end - i == batchSize || !dropLast { batches.append(Array(order[i..<end])) }
      i += batchSize
    }
    return batches
  }

  /// The batches of `epoch`, starting at batch `start` (to resume inside an epoch).
  public func epoch(_ epoch: Int, from start: Int = 0) -> EpochBatches {
    EpochBatches(
      dataset: dataset, epoch: epoch, indices: Array(batchIndices(epoch: epoch).dropFirst(start)),
      prefetch: prefetch)
  }

  public func makeIterator() -> EpochBatches.Iterator {
    defer { nextEpoch += 1 }
    return epoch(nextEpoch).makeIterator()
  }
}

/// One epoch's batches as a Sequence; with prefetch its iterator owns a worker thread
/// that stays one batch ahead and stops when the iterator is dropped.
public struct EpochBatches: Sequence {
  public let dataset: any TrainingDataset
  public let epoch: Int
  public let indices: [[Int]]
  public let prefetch: Bool

  public var count: Int { indices.count }

  public struct Iterator: IteratorProtocol {
    let batches: EpochBatches
    var position = 0
    let worker: PrefetchHandle?

    public mutating func next() -> Batch? {
      if let worker { return worker.next() }
      guard position < batches.indices.count else { return nil }
      defer { position += 1 }
      return batches.dataset.batch(batches.indices[position], epoch: batches.epoch)
    }
  }

  public func makeIterator() -> Iterator {
    Iterator(batches: self, worker: prefetch && !indices.isEmpty ? PrefetchHandle(self) : nil)
  }
}

/// The iterator's handle on a prefetch worker: dropping it (the loop ended or broke
/// early) cancels the producer and waits for it, so no collation outlives the loop.
final class PrefetchHandle {
  let worker: PrefetchWorker
  init(_ batches: EpochBatches) {
    worker = PrefetchWorker()
    let worker = self.worker
    let thread = Thread { worker.produce(batches) }
    thread.name = "loom-dataloader"
    thread.start()
  }
  func next() -> Batch? { worker.next() }
  deinit { worker.cancelAndWait() }
}

/// A producer thread's queue, bounded at one batch: the one after the batch in use.
final class PrefetchWorker: @unchecked Sendable {
  private let condition = NSCondition()
  private var ready: [Batch] = []
  private var cancelled = false
  private var producerDone = false
  private let depth = 1

  func produce(_ batches: EpochBatches) {
    for idx in batches.indices {
      condition.lock()
      while ready.count >= depth && !cancelled { condition.wait() }
      let stop = cancelled
      condition.unlock()
      if stop { break }
      let batch = batches.dataset.batch(idx, epoch: batches.epoch)
      condition.lock()
      ready.append(batch)
      condition.broadcast()
      condition.unlock()
    }
    condition.lock()
    producerDone = true
    condition.broadcast()
    condition.unlock()
  }

  func next() -> Batch? {
    condition.lock()
    defer { condition.unlock() }
    while ready.isEmpty && !producerDone { condition.wait() }
    guard !ready.isEmpty else { return nil }
    let batch = ready.removeFirst()
    condition.broadcast()
    return batch
  }

  func cancelAndWait() {
    condition.lock()
    cancelled = true
    condition.broadcast()
    while !producerDone { condition.wait() }
    ready.removeAll()
    condition.unlock()
  }
}
