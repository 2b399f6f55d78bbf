import Foundation
import LoomCore
import LoomNN

/// PyTorch's `DistributedDataParallel` for users' own loops: wrapping copies rank 0's
/// parameters and buffers to every rank; during each backward, gradients are packed into
/// buckets (~25 MB, parameters in reverse order, as they become ready in backward) and each
/// bucket's all-reduce starts as soon as its last gradient is final, overlapping
/// communication with the rest of backward. `finishGradientSynchronization()` waits for the
/// buckets and leaves every rank with the gradients averaged over ranks.
///
///     let ddp = try DistributedDataParallel(model, group: group)
///     for (i, batch) in batches.enumerated() {
///       let last = (i + 1) % accumulation == 0
///       try ddp.maybeNoSync(!last) { loss(batch).backward() }
///       if last { try ddp.finishGradientSynchronization(); optimizer.step(); optimizer.zeroGrad() }
///     }
public final class DistributedDataParallel {
  public let module: Module
  public let group: ProcessGroup
  /// torch's `require_backward_grad_sync`: off inside `noSync`.
  public var requireBackwardGradSync = true
  /// Seconds spent waiting for all-reduces to finish after backward (the communication
  /// that backward did not hide), summed since creation.
  public private(set) var waitSeconds = 0.0
  let buckets: [GradBucket]
  /// Gradient buckets (one all-reduce each).
  public var bucketCount: Int { buckets.count }
  let place: [ObjectIdentifier: (bucket: Int, index: Int)]
  var nextBucket = 0
  var problem: String? = nil

  /// - Parameter bucketCapMB: bucket size in megabytes (torch's `bucket_cap_mb`, 25).
  public init(_ module: Module, group: ProcessGroup, bucketCapMB: Double = 25) throws {
    self.module = module
    self.group = group
    var seen = Set<ObjectIdentifier>()
    let named = module.namedParameters().filter { $0.1.requiresGrad && seen.insert(ObjectIdentifier($0.1)).inserted }
    for (name, p) in named where p.dtype != .float32 {
      throw LoomError("DistributedDataParallel: parameter \(name) is \(p.dtype); gradients are reduced in float32")
    }
    // Reverse order: the last layers' gradients are ready first in backward.
    let capacity = max(1, Int(bucketCapMB * 1_048_576 / 4))
    var buckets: [GradBucket] = []
    var current: [Tensor] = []
    var size = 0
    for (_, p) in named.reversed() {
      if size > 0 && size + p.count > capacity {
        buckets.append(GradBucket(current))
        current = []
        size = 0
      }
      current.append(p)
      size += p.count
    }
    if !current.isEmpty { buckets.append(GradBucket(current)) }
    self.buckets = buckets
    var place: [ObjectIdentifier: (bucket: Int, index: Int)] = [:]
    for (b, bucket) in buckets.enumerated() {
      for (i, p) in bucket.params.enumerated() { place[ObjectIdentifier(p)] = (b, i) }
    }
    self.place = place
    try broadcastState()
    for bucket in buckets {
      for p in bucket.params {
        p.registerPostAccumulateGradHook { [weak self] t in self?.gradientReady(t) }
      }
    }
  }

  deinit {
    for bucket in buckets { for p in bucket.params { p.removePostAccumulateGradHooks() } }
  }

  /// Parameters and buffers from rank 0, so every rank starts from the same weights.
  func broadcastState() throws {
    guard group.worldSize > 1 else { return }
    for bucket in buckets {
      let flat = bucket.buffer.tensor([bucket.count])
      if group.rank == 0 {
        for (p, offset) in zip(bucket.params, bucket.offsets) {
          flat.slice(dim: 0, start: offset, end: offset + p.count).copyIn(p.reshape([p.count]))
        }
      }
      try group.broadcastBytes(bucket.buffer.pointer, count: bucket.count * 4, root: 0, what: "broadcast of the parameters")
      noGrad {
        for (p, offset) in zip(bucket.params, bucket.offsets) {
          p.copyIn(flat.slice(dim: 0, start: offset, end: offset + p.count).reshape(p.shape))
        }
      }
    }
    for (_, b) in module.namedBuffers() where b.dtype == .float32 { try group.broadcast(b) }
  }

  /// torch's `no_sync()`: backwards inside `body` only accumulate local gradients.
  public func noSync<R>(_ body: () throws -> R) rethrows -> R {
    try maybeNoSync(true, body)
  }

  /// `noSync` when `skip`, else `body` with gradients reduced.
  public func maybeNoSync<R>(_ skip: Bool, _ body: () throws -> R) rethrows -> R {
    let previous = requireBackwardGradSync
    requireBackwardGradSync = !skip
    defer { requireBackwardGradSync = previous }
    return try body()
  }

  /// Called by backward right after `p.grad` is final: starts every bucket that is complete,
  /// in bucket order (MPI matches collectives by the order ranks start them).
  func gradientReady(_ p: Tensor) {
    guard requireBackwardGradSync, group.worldSize > 1, let at = place[ObjectIdentifier(p)] else { return }
    let bucket = buckets[at.bucket], i = at.index
    guard !bucket.ready[i], bucket.work == nil else {
      problem =
        "a parameter received gradients twice before finishGradientSynchronization() (two backwards in one step): wrap all but the last in noSync"
      return
    }
    bucket.ready[i] = true
    bucket.readyCount += 1
    while nextBucket < buckets.count && buckets[nextBucket].readyCount == buckets[nextBucket].params.count {
      launch(nextBucket)
      nextBucket += 1
    }
    for bucket in buckets[..<nextBucket] { _ = bucket.work?.isCompleted() }  // let MPI progress
  }

  func launch(_ b: Int) {
    let bucket = buckets[b]
    let flat = bucket.buffer.tensor([bucket.count])
    noGrad {
      for (p, offset) in zip(bucket.params, bucket.offsets) {
        let region = flat.slice(dim: 0, start: offset, end: offset + p.count)
        if let g = p.grad { region.copyIn(g.reshape([p.count])) } else { region.fill(0) }
      }
    }
    do {
      bucket.work = try group.startAllReduce(
        bucket.buffer, count: bucket.count, op: .sum, what: "all-reduce of gradient bucket \(b)") {}
    } catch {
      problem = "\(error)"
    }
  }

  /// Waits for every bucket (starting those whose gradients never came: unused parameters)
  /// and sets each parameter's `.grad` to the average over ranks.
  public func finishGradientSynchronization() throws {
    guard group.worldSize > 1 else { return }
    defer {
      for bucket in buckets { bucket.reset() }
      nextBucket = 0
    }
    if let problem {
      self.problem = nil
      throw LoomError("DistributedDataParallel: \(problem)")
    }
    while nextBucket < buckets.count {
      launch(nextBucket)
      nextBucket += 1
    }
    let start = DispatchTime.now().uptimeNanoseconds
    for bucket in buckets { try bucket.work?.wait() }
    waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    if let problem {
      self.problem = nil
      throw LoomError("DistributedDataParallel: \(problem)")
    }
    let scale = 1 / Double(group.worldSize)
    noGrad {
      for bucket in buckets {
        let flat = bucket.buffer.tensor([bucket.count])
        for (p, offset) in zip(bucket.params, bucket.offsets) {
          p.grad = (flat.slice(dim: 0, start: offset, end: offset + p.count).reshape(p.shape) * scale).contiguousCopy()
        }
      }
    }
  }
}

/// Parameters whose gradients travel in one all-reduce, packed in one flat float32 buffer.
final class GradBucket {
  let params: [Tensor]
  let offsets: [Int]
  let count: Int
  let buffer: HostBuffer
  var ready: [Bool]
  var readyCount = 0
  var work: CollectiveWork? = nil

  init(_ params: [Tensor]) {
    self.params = params
    var offsets: [Int] = []
    var n = 0
    for p in params {
      offsets.append(n)
      n += p.count
    }
    self.offsets = offsets
    count = n
    buffer = HostBuffer(floats: n)
    ready = Array(repeating: false, count: params.count)
  }

  func reset() {
    ready = Array(repeating: false, count: params.count)
    readyCount = 0
    work = nil
  }
}
