import CLoomKernels

/// Direct access to host tensor memory: for the CPU backend's kernels only (internal to
/// LoomCore, used under Backends/). Storage of any other device refuses it.
extension Tensor {
  /// Raw pointer to element [0, …, 0].
  @inline(__always) var rawPointer: UnsafeMutableRawPointer {
    storage.data + offset * dtype.byteSize
  }

  /// Typed pointer to element [0, …, 0]; the dtype must match.
  @inline(__always) func pointer<T: TensorElement>(as type: T.Type) -> UnsafeMutablePointer<T> {
    precondition(T.dtype == dtype, "Loom: tensor has dtype \(dtype), accessed as \(T.dtype)")
    return rawPointer.assumingMemoryBound(to: T.self)
  }

  /// Contiguous elements as a typed buffer (the tensor must be contiguous).
  @inline(__always) func buffer<T: TensorElement>(as type: T.Type) -> UnsafeMutableBufferPointer<T> {
    precondition(isContiguous, "Loom: buffer(as:) needs a contiguous tensor")
    return UnsafeMutableBufferPointer(start: pointer(as: T.self), count: count)
  }

  /// A dense CPU tensor (backend outputs are always host memory, whatever `Device.default`).
  convenience init(cpu shape: [Int], dtype: DType = .float32) {
    self.init(empty: shape, dtype: dtype, device: .cpu)
  }

  /// Escape hatch for benchmarks that time a C kernel on a CPU tensor's memory directly.
  package func benchmarkHostPointer<T: TensorElement>(as type: T.Type) -> UnsafeMutablePointer<T> {
    pointer(as: T.self)
  }

  /// Fills element i (row-major, dense) with `f(i)` converted to the dtype.
  func withMutableDoubles(_ n: Int, _ f: (Int) -> Double) {
    let raw = rawPointer
    switch dtype {
    case .float32: let p = raw.assumingMemoryBound(to: Float.self); for i in 0..<n { p[i] = Float(f(i)) }
    case .float64: let p = raw.assumingMemoryBound(to: Double.self); for i in 0..<n { p[i] = f(i) }
    case .int64: let p = raw.assumingMemoryBound(to: Int64.self); for i in 0..<n { p[i] = Int64(f(i)) }
    case .int32: let p = raw.assumingMemoryBound(to: Int32.self); for i in 0..<n { p[i] = Int32(f(i)) }
    case .uint8: let p = raw.assumingMemoryBound(to: UInt8.self); for i in 0..<n { p[i] = UInt8(f(i)) }
    case .bool: let p = raw.assumingMemoryBound(to: Bool.self); for i in 0..<n { p[i] = f(i) != 0 }
    case .float16, .bfloat16:
      let tmp = Tensor(cpu: shape, dtype: .float32)
      tmp.withMutableDoubles(n, f)
      Cast.convert(tmp.rawPointer, from: .float32, to: raw, as: dtype, count: n)
    }
  }
}

/// Memory ops of the CPU backend: host allocation from the caching pool, fills, copies
/// between host buffers and tensors, and the counter-based random fills.
extension CPUBackend {
  public func allocate(byteCount: Int) -> Storage { Storage(byteCount: byteCount) }

  public func fill(_ t: Tensor, with value: Double) {
    let n = t.count
    guard n > 0 else { return }
    if !t.isContiguous {
      // A broadcast scalar copied into the view.
      let s = Tensor(cpu: [], dtype: t.dtype)
      fill(s, with: value)
      copy(s.expand(t.shape).detach(), into: t)
      return
    }
    if value.bitPattern == 0 {
      // +0 is all-zero bytes in every dtype.
      t.rawPointer.initializeMemory(as: UInt8.self, repeating: 0, count: n * t.dtype.byteSize)
    } else if t.dtype == .float32 {
      let p = t.pointer(as: Float.self)
      let v = Float(value)
      for i in 0..<n { p[i] = v }
    } else {
      t.withMutableDoubles(n) { _ in value }
    }
  }

  public func upload(_ bytes: UnsafeRawBufferPointer, into t: Tensor) {
    precondition(t.isContiguous && bytes.count == t.count * t.dtype.byteSize, "Loom: upload size mismatch")
    if let base = bytes.baseAddress, bytes.count > 0 { t.rawPointer.copyMemory(from: base, byteCount: bytes.count) }
  }

  public func uploadRows(
    _ source: UnsafeRawBufferPointer, rowBytes: Int, rows: [Int], into t: Tensor
  ) {
    precondition(
      t.isContiguous && rows.count * rowBytes == t.count * t.dtype.byteSize, "Loom: uploadRows size mismatch")
    guard rowBytes > 0, let src = source.baseAddress else { return }
    let dst = t.rawPointer
    for (i, r) in rows.enumerated() {
      precondition(r >= 0 && (r + 1) * rowBytes <= source.count, "Loom: uploadRows row \(r) out of range")
      (dst + i * rowBytes).copyMemory(from: src + r * rowBytes, byteCount: rowBytes)
    }
  }

  public func download(_ t: Tensor, into bytes: UnsafeMutableRawBufferPointer) {
    precondition(bytes.count >= t.count * t.dtype.byteSize, "Loom: download buffer too small")
    if let base = bytes.baseAddress, t.count > 0 { StridedCopy.copy(t, to: base) }
  }

  public func arange(start: Double, step: Double, into t: Tensor) {
    t.withMutableDoubles(t.count) { i in start + Double(i) * step }
  }

  /// Uniform and Bernoulli fills take four values per Philox block (element i uses block
  /// offset + i / 4, word i % 4) and normal fills two (Box–Muller's cosine and sine), as
  /// PyTorch's kernels do; the offset still advances by the element count.
  public func fillRandom(_ t: Tensor, _ distribution: RandomDistribution, seed: UInt64, offset: UInt64) {
    let n = t.count
    switch distribution {
    case .uniform(let low, let high) where t.dtype == .float32:
      // `Philox.forEachWord`'s words, vectorized and split over the pool in C.
      loom_rand_f32(
        Int32(LOOM_RAND_UNIFORM), seed, offset, Float(low), Float(high - low), 0, t.pointer(as: Float.self),
        Int64(n))
    case .uniform(let low, let high):
      t.withMutableDoubles(n) { i in
        low + (high - low) * Philox.uniformDouble(seed: seed, counter: offset &+ UInt64(i))
      }
    case .bernoulli(let p) where t.dtype == .float32:
      loom_rand_f32(Int32(LOOM_RAND_BERNOULLI), seed, offset, 0, 0, p, t.pointer(as: Float.self), Int64(n))
    case .bernoulli(let p):
      var words = [UInt32](repeating: 0, count: n)
      Philox.forEachWord(seed: seed, offset: offset, count: n) { i, w in words[i] = w }
      t.withMutableDoubles(n) { i in Double(words[i]) * 0x1.0p-32 < p ? 1 : 0 }
    case .normal(let mean, let std) where t.dtype == .float32:
      // Written pair by pair: a [Double] staging array was twice the tensor's size (94 MB
      // for MiniLM's word embeddings) and set the peak RSS of loading a model.
      let p = t.pointer(as: Float.self)
      for j in 0..<(n + 1) / 2 {
        let (a, b) = Philox.normalPair(seed: seed, counter: offset &+ UInt64(j))
        p[2 * j] = Float(mean + std * a)
        if 2 * j + 1 < n { p[2 * j + 1] = Float(mean + std * b) }
      }
    case .normal(let mean, let std):
      t.withMutableDoubles(n) { i in
        let pair = Philox.normalPair(seed: seed, counter: offset &+ UInt64(i / 2))
        return mean + std * (i % 2 == 0 ? pair.0 : pair.1)
      }
    case .integers(let low, let high):
      let span = UInt64(high - low)
      t.withMutableDoubles(n) { i in
        Double(low + Int(Philox.bits64(seed: seed, counter: offset &+ UInt64(i)) % span))
      }
    }
  }
}
