extension Tensor {
  /// A tensor filled with `value`.
  public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
    let t = Tensor(empty: shape, dtype: dtype)
    t.fill(value)
    return t
  }

  public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
    let t = Tensor(empty: shape, dtype: dtype)
    t.rawPointer.initializeMemory(as: UInt8.self, repeating: 0, count: t.count * dtype.byteSize)
    return t
  }

  public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor {
    full(shape, 1, dtype: dtype)
  }

  public static func zeros(like t: Tensor) -> Tensor { zeros(t.shape, dtype: t.dtype) }
  public static func ones(like t: Tensor) -> Tensor { ones(t.shape, dtype: t.dtype) }

  /// A scalar tensor.
  public static func scalar(_ value: Double, dtype: DType = .float32) -> Tensor {
    full([], value, dtype: dtype)
  }

  /// 0, 1, … like `torch.arange(start, end, step)`.
  public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64)
    -> Tensor
  {
    precondition(step != 0, "Loom: arange step must be non-zero")
    let n = Swift.max(Int(((end - start) / step).rounded(.up)), 0)
    let t = Tensor(empty: [n], dtype: dtype)
    t.withMutableDoubles(n) { i in start + Double(i) * step }
    return t
  }

  public static func arange(_ end: Int, dtype: DType = .int64) -> Tensor {
    arange(0, Double(end), dtype: dtype)
  }

  /// Identity matrix.
  public static func eye(_ n: Int, dtype: DType = .float32) -> Tensor {
    let t = zeros([n, n], dtype: dtype)
    t.withMutableDoubles(n * n) { i in i / n == i % n ? 1 : 0 }
    return t
  }

  /// Uniform in [low, high).
  public static func rand(
    _ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
    generator: Generator = .global
  ) -> Tensor {
    let t = Tensor(empty: shape, dtype: dtype)
    if dtype == .float32 {
      let p = t.pointer(as: Float.self)
      let lo = Float(low), span = Float(high - low)
      for i in 0..<t.count { p[i] = lo + span * generator.nextFloat() }
    } else {
      t.withMutableDoubles(t.count) { _ in low + (high - low) * generator.nextDouble() }
    }
    return t
  }

  /// Normal with mean and std.
  public static func randn(
    _ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
    generator: Generator = .global
  ) -> Tensor {
    let t = Tensor(empty: shape, dtype: dtype)
    t.withMutableDoubles(t.count) { _ in mean + std * generator.nextNormal() }
    return t
  }

  /// Integers uniform in low..<high.
  public static func randint(
    _ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int64, generator: Generator = .global
  ) -> Tensor {
    precondition(high > low, "Loom: randint needs high > low, got \(low)..<\(high)")
    let t = Tensor(empty: shape, dtype: dtype)
    t.withMutableDoubles(t.count) { _ in Double(low + generator.nextInt(below: high - low)) }
    return t
  }

  /// 1 with probability p, else 0 (same dtype as requested).
  public static func bernoulli(_ shape: [Int], p: Double, dtype: DType = .float32, generator: Generator = .global)
    -> Tensor
  {
    let t = Tensor(empty: shape, dtype: dtype)
    t.withMutableDoubles(t.count) { _ in generator.nextDouble() < p ? 1 : 0 }
    return t
  }

  /// A random permutation of 0..<n (int64).
  public static func randperm(_ n: Int, generator: Generator = .global) -> Tensor {
    var values = (0..<n).map { Int64($0) }
    if n > 1 {
      for i in stride(from: n - 1, to: 0, by: -1) {
        values.swapAt(i, generator.nextInt(below: i + 1))
      }
    }
    return Tensor(values)
  }

  /// Writes `value` into every element of this (contiguous) tensor in place.
  public func fill(_ value: Double) {
    precondition(isContiguous, "Loom: fill needs a contiguous tensor")
    let n = count
    switch dtype {
    case .float32:
      let p = pointer(as: Float.self)
      let v = Float(value)
      for i in 0..<n { p[i] = v }
    default:
      withMutableDoubles(n) { _ in value }
    }
  }

  /// Fills element i (row-major, contiguous) with `f(i)` converted to the dtype.
  /// For creation and tests, not hot paths.
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
      let tmp = Tensor(empty: shape, dtype: .float32)
      tmp.withMutableDoubles(n, f)
      let converted = tmp.to(dtype)
      raw.copyMemory(from: converted.rawPointer, byteCount: n * dtype.byteSize)
    }
  }
}
