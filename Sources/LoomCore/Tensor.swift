import Foundation

/// An n-dimensional strided view of a `Storage`, with an optional autograd history.
///
/// Views (reshape, permute, slice, expand …) share storage; ops that need dense
/// memory call `contiguous()`. A tensor with `requiresGrad` records the ops applied
/// to it so `backward()` can compute gradients.
public final class Tensor: @unchecked Sendable {
  // The layout is only reassigned by `setData` (module casts and moves, never while an op
  // reads it), so these `var`s skip Swift's dynamic exclusivity checks: every op reads
  // them several times, and the checks cost as much as the small ops themselves.
  @exclusivity(unchecked) public private(set) var storage: Storage
  @exclusivity(unchecked) public private(set) var shape: [Int]
  @exclusivity(unchecked) public private(set) var strides: [Int]
  /// Offset of element [0, …, 0] in elements of `dtype`.
  @exclusivity(unchecked) public private(set) var offset: Int
  @exclusivity(unchecked) public private(set) var dtype: DType
  public var device: Device { storage.device }

  /// Set on leaves to ask for gradients; true on results of recorded ops.
  public var requiresGrad: Bool
  /// Accumulated gradient of a leaf (or of a non-leaf after `retainGrad()`).
  public var grad: Tensor?
  /// The op that produced this tensor, when recorded.
  var gradFn: Node?
  var retainsGrad = false
  /// Run after backward accumulates into this leaf's `.grad` (see `registerPostAccumulateGradHook`).
  var postAccumulateGradHooks: [(Tensor) -> Void] = []

  init(storage: Storage, shape: [Int], strides: [Int], offset: Int, dtype: DType,
       requiresGrad: Bool = false) {
    self.storage = storage
    self.shape = shape
    self.strides = strides
    self.offset = offset
    self.dtype = dtype
    self.requiresGrad = requiresGrad
  }

  /// Uninitialised contiguous tensor on `device` (memory from its backend).
  public init(empty shape: [Int], dtype: DType = .float32, device: Device = .default) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Loom: negative dimension in shape \(shape)")
    let n = Shape.count(shape)
    let bytes = Swift.max(n, 1) * dtype.byteSize
    if case .cpu = device {
      self.storage = Storage(byteCount: bytes)
    } else {
      self.storage = device.backend.allocate(byteCount: bytes)
    }
    self.shape = shape
    self.strides = Shape.contiguousStrides(shape)
    self.offset = 0
    self.dtype = dtype
    self.requiresGrad = false
  }

  /// A dense tensor viewing memory owned by `owner` (e.g. a memory-mapped file).
  public init(borrowing pointer: UnsafeMutableRawPointer, shape: [Int], dtype: DType, owner: AnyObject) {
    self.storage = Storage(borrowing: pointer, byteCount: Swift.max(Shape.count(shape), 1) * dtype.byteSize, owner: owner)
    self.shape = shape
    self.strides = Shape.contiguousStrides(shape)
    self.offset = 0
    self.dtype = dtype
    self.requiresGrad = false
  }

  /// A tensor from flat values in row-major order (uploaded to `device`).
  public convenience init<T: TensorElement>(
    _ values: [T], shape: [Int]? = nil, device: Device = .default
  ) {
    let shape = shape ?? [values.count]
    let n = Shape.count(shape)
    precondition(
      n == values.count,
      "Loom: \(values.count) values cannot fill shape \(shape) (\(n) elements)")
    self.init(empty: shape, dtype: T.dtype, device: device)
    if n > 0 { values.withUnsafeBytes { backend.upload($0, into: self) } }
  }

  /// A 0-d tensor.
  public convenience init<T: TensorElement>(scalar value: T, device: Device = .default) {
    self.init([value], shape: [], device: device)
  }

  public var rank: Int { shape.count }
  public var count: Int { Shape.count(shape) }
  public var isLeaf: Bool { gradFn == nil }

  /// Size of one dimension (negative counts from the end).
  public func size(_ dim: Int) -> Int {
    shape[validate { try Shape.normalize(dim: dim, rank: rank, op: "size") }]
  }

  public var isContiguous: Bool {
    var expected = 1
    for i in stride(from: rank - 1, through: 0, by: -1) where shape[i] != 1 {
      if strides[i] != expected { return false }
      expected *= shape[i]
    }
    return true
  }

  /// A tensor on `device` from raw row-major bytes of `dtype` (e.g. a file's contents).
  public convenience init(
    bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType, device: Device = .default
  ) {
    self.init(empty: shape, dtype: dtype, device: device)
    precondition(
      bytes.count == count * dtype.byteSize,
      "Loom: \(bytes.count) bytes cannot fill \(dtype) shape \(shape)")
    if count > 0 { backend.upload(bytes, into: self) }
  }

  /// Downloads the elements' bytes (row-major, this dtype) into `buffer`.
  public func copyBytes(into buffer: UnsafeMutableRawBufferPointer) {
    precondition(buffer.count >= count * dtype.byteSize, "Loom: copyBytes buffer too small")
    if count > 0 { backend.download(self, into: buffer) }
  }

  /// Copies the elements out to the host in row-major order, converting to `T`.
  public func toArray<T: TensorElement>(_ type: T.Type = T.self) -> [T] {
    let c = self.to(T.dtype).detach()
    let n = c.count
    return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
      if n > 0 { c.backend.download(c, into: UnsafeMutableRawBufferPointer(buffer)) }
      initialized = n
    }
  }

  /// Elements as Float (any dtype).
  public var floats: [Float] { toArray(Float.self) }
  public var doubles: [Double] { toArray(Double.self) }
  public var int64s: [Int64] { toArray(Int64.self) }

  /// The value of a one-element tensor.
  public func item() -> Double {
    precondition(count == 1, "Loom: item() needs a tensor with one element, got shape \(shape)")
    return toArray(Double.self)[0]
  }

  /// A tensor sharing storage with no autograd history.
  public func detach() -> Tensor {
    Tensor(storage: storage, shape: shape, strides: strides, offset: offset, dtype: dtype)
  }

  /// Marks a leaf as needing gradients (chainable).
  @discardableResult
  public func requiringGrad(_ flag: Bool = true) -> Tensor {
    precondition(isLeaf, "Loom: requiresGrad can only be set on leaf tensors")
    requiresGrad = flag
    return self
  }

  /// Keep `.grad` of this non-leaf tensor after backward.
  public func retainGrad() { retainsGrad = true }

  /// Points this leaf at `other`'s memory, shape and dtype in place, like PyTorch's
  /// `param.data = other`: modules and optimizers that hold this tensor keep holding it.
  /// Used by `Module.to(dtype:)` / `Module.to(device:)`; drops any gradient.
  public func setData(_ other: Tensor) {
    precondition(isLeaf, "Loom: setData needs a leaf tensor")
    storage = other.storage
    shape = other.shape
    strides = other.strides
    offset = other.offset
    dtype = other.dtype
    grad = nil
  }
}
