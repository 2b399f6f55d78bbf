import LoomCore

/// Host memory MPI reads and writes (it must stay put while a non-blocking collective
/// runs), seen by Loom as float32 tensors through `tensor(_:)`.
final class HostBuffer {
  let pointer: UnsafeMutableRawPointer
  let byteCount: Int

  init(floats: Int) {
    byteCount = max(floats, 1) * 4
    pointer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
  }

  deinit { pointer.deallocate() }

  /// A float32 tensor over the first `shape`-many elements (it keeps the buffer alive).
  func tensor(_ shape: [Int]) -> Tensor {
    Tensor(borrowing: pointer, shape: shape, dtype: .float32, owner: self)
  }
}
