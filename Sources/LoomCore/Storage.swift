import Foundation
import CLoomKernels

/// A reference-counted block of device memory. Storage taken from the pool goes back
/// to it on deinit, so a steady training loop reuses the same blocks instead of
/// calling malloc per op.
public final class Storage: @unchecked Sendable {
  /// Host address of the bytes. For a device whose memory the host may not touch
  /// (`.emulated`), only that device's backend reads it, through `deviceAddress`.
  private let base: UnsafeMutableRawPointer
  public let byteCount: Int
  /// The device whose backend owns this memory.
  public let device: Device
  /// Whether host code (the CPU backend) may read and write this memory directly.
  package let isHostMemory: Bool
  private let capacity: Int
  private let pooled: Bool
  /// Keeps foreign memory (e.g. a memory-mapped file) alive while tensors view it.
  package let owner: AnyObject?

  /// Uninitialised memory of at least `byteCount` bytes from the caching allocator, tagged
  /// with the device whose backend owns it (backends call this from `allocate`).
  package init(byteCount: Int, device: Device = .cpu) {
    let (pointer, capacity) = BufferPool.shared.allocate(byteCount)
    self.base = pointer
    self.byteCount = byteCount
    self.device = device
    self.isHostMemory = device == .cpu
    self.capacity = capacity
    self.pooled = true
    self.owner = nil
  }

  /// Wraps host memory owned by `owner` (zero-copy views of mapped files).
  public init(borrowing pointer: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
    self.base = pointer
    self.byteCount = byteCount
    self.device = .cpu
    self.isHostMemory = true
    self.capacity = byteCount
    self.pooled = false
    self.owner = owner
  }

  /// Host memory, for the CPU backend only. Refuses memory of another device: host code
  /// reading it would be a bug a real accelerator turns into a crash or garbage.
  @inline(__always) package var data: UnsafeMutableRawPointer {
    if _slowPath(!isHostMemory) { hostAccessFault() }
    return base
  }

  /// The memory of a non-host device, for that device's backend only.
  package var deviceAddress: UnsafeMutableRawPointer { base }

  /// Why host code may not read this memory directly (nil when it may).
  package var hostAccessRefusal: String? {
    isHostMemory
      ? nil
      : "Loom: host code touched \(device) device memory directly; only the \(device) backend may read it. "
        + "Read tensors with toArray()/item() or move them with to(device: .cpu)."
  }

  @inline(never)
  private func hostAccessFault() -> Never { fatalError(hostAccessRefusal ?? "") }

  deinit {
    if pooled { BufferPool.shared.release(base, capacity: capacity) }
  }
}

/// Caching allocator: size-bucketed free lists of 64-byte aligned blocks.
/// Sizes round up (64 B granularity below 1 MiB, 1/8 power-of-two steps above) so
/// shapes that vary a little still hit the cache. A request whose bucket is empty takes the
/// smallest cached block of at most twice its size (best fit, as PyTorch's caching allocator
/// does), so batches that shrink step by step (length-sorted inference) reuse the blocks of
/// the wider batches before them instead of caching one set of blocks per width.
/// Cached bytes are capped (LOOM_POOL_LIMIT_MB, default 4096) and the pool can be emptied on demand.
public final class BufferPool: @unchecked Sendable {
  public static let shared = BufferPool()

  private var free: [Int: [UnsafeMutableRawPointer]] = [:]
  /// The bucket sizes whose free lists are not empty, ascending (for the best-fit search).
  private var cachedSizes: [Int] = []
  private var cachedBytes = 0
  private let lock = NSLock()
  private let limitBytes: Int
  /// Allocation statistics, for tests and benchmarks.
  public private(set) var mallocCount = 0
  public private(set) var reuseCount = 0
  /// Bytes handed out and not yet returned, and the most there have been.
  public private(set) var liveBytes = 0
  public private(set) var peakLiveBytes = 0
  /// The most bytes held at once, live plus cached (what the pool adds to peak RSS).
  public private(set) var peakHeldBytes = 0

  init() {
    let env = ProcessInfo.processInfo.environment["LOOM_POOL_LIMIT_MB"].flatMap { Int($0) }
    limitBytes = (env ?? 4096) << 20
    // A fixed threshold: blocks of 1 MiB and more are their own mappings, so a freed one goes back to the
    // system at once. glibc's default raises the threshold to the largest block freed so far (up to 32 MiB),
    // after which tensors come from the heap, where freed blocks are reused — and written — by whatever
    // comes next: quantizing a GPT-2-medium as it loads peaked at 944 MB that way instead of 322 MB. Steady
    // loops reuse the pool's blocks and rarely reach malloc. LOOM_MMAP_THRESHOLD=BYTES sets another; 0 keeps glibc's.
    let threshold = ProcessInfo.processInfo.environment["LOOM_MMAP_THRESHOLD"].flatMap { Int($0) } ?? (1 << 20)
    if threshold > 0 { loom_fix_mmap_threshold(Int64(threshold)) }
  }

  private func noteAllocated(_ size: Int) {
    liveBytes += size
    peakLiveBytes = max(peakLiveBytes, liveBytes)
    peakHeldBytes = max(peakHeldBytes, liveBytes + cachedBytes)
  }

  static func bucket(_ bytes: Int) -> Int {
    let n = max(bytes, 64)
    if n <= 1 << 20 { return (n + 63) & ~63 }
    let high = Int.bitWidth - 1 - n.leadingZeroBitCount
    let step = 1 << (high - 3)
    return (n + step - 1) / step * step
  }

  /// Index of the first entry of `cachedSizes` that is at least `size`.
  private func firstCachedSize(atLeast size: Int) -> Int {
    var (lo, hi) = (0, cachedSizes.count)
    while lo < hi {
      let mid = (lo + hi) / 2
      if cachedSizes[mid] < size { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }

  func allocate(_ bytes: Int) -> (UnsafeMutableRawPointer, Int) {
    let size = BufferPool.bucket(bytes)
    lock.lock()
    let i = firstCachedSize(atLeast: size)
    if i < cachedSizes.count, cachedSizes[i] <= 2 * size {
      let found = cachedSizes[i]
      let p = free[found]!.removeLast()
      if free[found]!.isEmpty { cachedSizes.remove(at: i) }
      cachedBytes -= found
      reuseCount += 1
      noteAllocated(found)
      lock.unlock()
      return (p, found)
    }
    mallocCount += 1
    noteAllocated(size)
    lock.unlock()
    var raw: UnsafeMutableRawPointer? = nil
    let status = posix_memalign(&raw, 64, size)
    guard status == 0, let p = raw else {
      fatalError("Loom: out of memory allocating \(size) bytes")
    }
    return (p, size)
  }

  func release(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
    lock.lock()
    liveBytes -= capacity
    if bypassDepth == 0 && cachedBytes + capacity <= limitBytes {
      free[capacity, default: []].append(pointer)
      if free[capacity]!.count == 1 {
        cachedSizes.insert(capacity, at: firstCachedSize(atLeast: capacity))
      }
      cachedBytes += capacity
      lock.unlock()
    } else {
      lock.unlock()
      Foundation.free(pointer)
    }
  }

  /// While > 0, released blocks go straight back to the system (see `withoutCaching`).
  private var bypassDepth = 0

  /// Runs `body` with released blocks freed at once instead of cached. For work that
  /// swaps one set of large buffers for another — quantizing a model as it loads, where
  /// each empty (never written) float weight is dropped for its codes — so temporaries do
  /// not land in, and write to, the dropped blocks one after another. Global, not per thread.
  public func withoutCaching<R>(_ body: () throws -> R) rethrows -> R {
    lock.lock()
    bypassDepth += 1
    lock.unlock()
    defer {
      lock.lock()
      bypassDepth -= 1
      lock.unlock()
    }
    return try body()
  }

  /// Returns every cached block to the system.
  public func emptyCache() {
    lock.lock()
    let lists = free
    free = [:]
    cachedSizes = []
    cachedBytes = 0
    lock.unlock()
    for list in lists.values { for p in list { Foundation.free(p) } }
  }

  /// Bytes held in free lists right now.
  public var cachedByteCount: Int {
    lock.lock()
    defer { lock.unlock() }
    return cachedBytes
  }
}
