import CMPI
import Foundation
import LoomCore

/// How a reduction combines the ranks' values (torch.distributed.ReduceOp).
public enum ReduceOp: Sendable {
  case sum, avg, max, min

  var mpi: MPI_Op? {
    switch self {
    case .sum, .avg: return loom_mpi_sum()
    case .max: return loom_mpi_max()
    case .min: return loom_mpi_min()
    }
  }
}

/// A collective under way (torch's `Work`): `wait()` finishes it (within the group's timeout)
/// and writes the result back into the tensor it was started on.
public final class CollectiveWork {
  let group: ProcessGroup
  let what: String
  var request: MPI_Request?
  /// Keeps the buffer MPI works in alive until the collective ends.
  let buffer: HostBuffer?
  let onComplete: () -> Void
  public private(set) var isFinished = false

  init(group: ProcessGroup, what: String, request: MPI_Request?, buffer: HostBuffer?, onComplete: @escaping () -> Void) {
    self.group = group
    self.what = what
    self.request = request
    self.buffer = buffer
    self.onComplete = onComplete
  }

  /// Whether it has finished (also lets MPI make progress on it).
  public func isCompleted() -> Bool {
    if !isFinished && request != nil && group.test(&request) { request = nil }
    return isFinished || request == nil
  }

  public func wait() throws {
    guard !isFinished else { return }
    if request != nil { try group.wait(&request, what) }
    isFinished = true
    onComplete()
  }
}

extension ProcessGroup {
  func requireFloat32(_ t: Tensor, _ what: String) throws {
    guard t.dtype == .float32 else {
      throw LoomError("\(what): collectives take float32 tensors, got \(t.dtype)")
    }
    guard t.count < Int(Int32.max) else {
      throw LoomError("\(what): \(t.count) elements is more than MPI counts in one call (2^31 − 1)")
    }
  }

  /// Starts summing (or max/min) `count` floats of `buffer` in place over every rank.
  func startAllReduce(_ buffer: HostBuffer, count: Int, op: ReduceOp, what: String, onComplete: @escaping () -> Void)
    throws -> CollectiveWork
  {
    guard usesMPI && worldSize > 1 else {
      return CollectiveWork(group: self, what: what, request: nil, buffer: buffer, onComplete: onComplete)
    }
    var request: MPI_Request? = nil
    try check(
      MPI_Iallreduce(
        loom_mpi_in_place(), buffer.pointer, Int32(count), loom_mpi_float(), op.mpi, comm, &request), what)
    return CollectiveWork(group: self, what: what, request: request, buffer: buffer, onComplete: onComplete)
  }

  /// torch's `all_reduce(tensor, op, async_op=True)`: `tensor` holds the result after `wait()`.
  public func allReduceAsync(_ tensor: Tensor, op: ReduceOp = .sum) throws -> CollectiveWork {
    try requireFloat32(tensor, "allReduce")
    let buffer = HostBuffer(floats: tensor.count)
    let view = buffer.tensor(tensor.shape)
    view.copyIn(tensor)
    let scale = op == .avg ? 1 / Double(worldSize) : 1
    return try startAllReduce(buffer, count: tensor.count, op: op, what: "allReduce of \(tensor.shape)") {
      noGrad { tensor.copyIn(scale == 1 ? view : view * scale) }
    }
  }

  /// torch's `all_reduce`: `tensor` becomes the sum (or average, max, min) over every rank.
  public func allReduce(_ tensor: Tensor, op: ReduceOp = .sum) throws {
    try allReduceAsync(tensor, op: op).wait()
  }

  /// Element-wise sums (or max/min) of `values` over every rank, in float64.
  public func allReduce(_ values: [Double], op: ReduceOp = .sum) throws -> [Double] {
    guard usesMPI && worldSize > 1 else { return values }
    var out = values
    try out.withUnsafeMutableBufferPointer { p in
      var request: MPI_Request? = nil
      try check(
        MPI_Iallreduce(loom_mpi_in_place(), p.baseAddress, Int32(p.count), loom_mpi_double(), op.mpi, comm, &request),
        "allReduce of \(values.count) numbers")
      try wait(&request, "allReduce of \(values.count) numbers")
    }
    return op == .avg ? out.map { $0 / Double(worldSize) } : out
  }

  /// torch's `all_gather_into_tensor`: every rank's `tensor` stacked, shape [worldSize] + tensor.shape.
  public func allGather(_ tensor: Tensor) throws -> Tensor {
    try requireFloat32(tensor, "allGather")
    let n = tensor.count
    let buffer = HostBuffer(floats: n * worldSize)
    let mine = buffer.tensor([worldSize, n])
    if usesMPI && worldSize > 1 {
      let send = HostBuffer(floats: n)
      send.tensor(tensor.shape).copyIn(tensor)
      var request: MPI_Request? = nil
      let what = "allGather of \(tensor.shape)"
      try check(
        MPI_Iallgather(send.pointer, Int32(n), loom_mpi_float(), buffer.pointer, Int32(n), loom_mpi_float(), comm, &request),
        what)
      try wait(&request, what)
      withExtendedLifetime(send) {}
    } else {
      mine.reshape(tensor.shape).copyIn(tensor)
    }
    return mine.reshape([worldSize] + tensor.shape).contiguousCopy()
  }

  /// torch's `broadcast`: every rank's `tensor` becomes rank `root`'s.
  public func broadcast(_ tensor: Tensor, from root: Int = 0) throws {
    try requireFloat32(tensor, "broadcast")
    guard (0..<worldSize).contains(root) else { throw LoomError("broadcast: root \(root) is not a rank (0..<\(worldSize))") }
    guard usesMPI && worldSize > 1 else { return }
    let buffer = HostBuffer(floats: tensor.count)
    let view = buffer.tensor(tensor.shape)
    if rank == root { view.copyIn(tensor) }
    try broadcastBytes(buffer.pointer, count: tensor.count * 4, root: root, what: "broadcast of \(tensor.shape)")
    if rank != root { noGrad { tensor.copyIn(view) } }
  }

  /// torch's `reduce_scatter_tensor`: `tensor` (first dimension divisible by the world size)
  /// reduced over ranks; rank r gets the r-th of worldSize equal chunks along dimension 0.
  public func reduceScatter(_ tensor: Tensor, op: ReduceOp = .sum) throws -> Tensor {
    try requireFloat32(tensor, "reduceScatter")
    guard tensor.rank >= 1, tensor.shape[0] % worldSize == 0 else {
      throw LoomError("reduceScatter: dimension 0 of \(tensor.shape) must be divisible by the world size \(worldSize)")
    }
    var chunkShape = tensor.shape
    chunkShape[0] /= worldSize
    let chunk = tensor.count / worldSize
    let scale = op == .avg ? 1 / Double(worldSize) : 1
    guard usesMPI && worldSize > 1 else { return (tensor * scale).contiguousCopy() }
    let send = HostBuffer(floats: tensor.count)
    send.tensor(tensor.shape).copyIn(tensor)
    let out = HostBuffer(floats: chunk)
    var request: MPI_Request? = nil
    let what = "reduceScatter of \(tensor.shape)"
    try check(
      MPI_Ireduce_scatter_block(send.pointer, out.pointer, Int32(chunk), loom_mpi_float(), op.mpi, comm, &request), what)
    try wait(&request, what)
    withExtendedLifetime(send) {}
    let result = out.tensor(chunkShape)
    return scale == 1 ? result.contiguousCopy() : (result * scale).contiguousCopy()
  }

  /// torch's `barrier`: returns once every rank has reached it.
  public func barrier() throws {
    guard usesMPI && worldSize > 1 else { return }
    var request: MPI_Request? = nil
    try check(MPI_Ibarrier(comm, &request), "barrier")
    try wait(&request, "barrier")
  }

  func broadcastBytes(_ pointer: UnsafeMutableRawPointer, count: Int, root: Int, what: String) throws {
    var request: MPI_Request? = nil
    try check(MPI_Ibcast(pointer, Int32(count), loom_mpi_byte(), Int32(root), comm, &request), what)
    try wait(&request, what)
  }

  /// Each rank's `value`, in rank order.
  func allGather(_ value: UInt64, what: String) throws -> [UInt64] {
    guard usesMPI && worldSize > 1 else { return [value] }
    var mine = value
    var all = [UInt64](repeating: 0, count: worldSize)
    try withUnsafeMutablePointer(to: &mine) { send in
      try all.withUnsafeMutableBufferPointer { p in
        var request: MPI_Request? = nil
        try check(MPI_Iallgather(send, 1, loom_mpi_uint64(), p.baseAddress, 1, loom_mpi_uint64(), comm, &request), what)
        try wait(&request, what)
      }
    }
    return all
  }

  /// Rank `root`'s bytes on every rank.
  func broadcast(bytes: [UInt8], from root: Int, what: String) throws -> [UInt8] {
    guard usesMPI && worldSize > 1 else { return bytes }
    var length = UInt64(bytes.count)
    try broadcastBytes(&length, count: 8, root: root, what: what)
    var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length))
    if length > 0 {
      try out.withUnsafeMutableBytes { try broadcastBytes($0.baseAddress!, count: Int(length), root: root, what: what) }
    }
    return out
  }
}
