/// Creation functions: memory comes from the target device's backend, which also fills
/// it (constants, ranges, random draws), so nothing here touches tensor memory.
extension Tensor {
  /// A tensor filled with `value`.
  public static func full(
    _ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .default
  ) -> Tensor {
    let t = Tensor(empty: shape, dtype: dtype, device: device)
    t.fill(value)
    return t
  }

  public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .default) -> Tensor {
    full(shape, 0, dtype: dtype, device: device)
  }

  public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .default) -> Tensor {
    full(shape, 1, dtype: dtype, device: device)
  }

  /// Zeros with `t`'s shape, dtype and device.
  public static func zeros(like t: Tensor) -> Tensor { zeros(t.shape, dtype: t.dtype, device: t.device) }
  public static func ones(like t: Tensor) -> Tensor { ones(t.shape, dtype: t.dtype, device: t.device) }

  /// A scalar tensor.
  public static func scalar(_ value: Double, dtype: DType = .float32, device: Device = .default) -> Tensor {
    full([], value, dtype: dtype, device: device)
  }

  /// 0, 1, … like `torch.arange(start, end, step)`.
  public static func arange(
    _ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64, device: Device = .default
  ) -> Tensor {
    precondition(step != 0, "Loom: arange step must be non-zero")
    let n = Swift.max(Int(((end - start) / step).rounded(.up)), 0)
    let t = Tensor(empty: [n], dtype: dtype, device: device)
    if n > 0 { t.backend.arange(start: start, step: step, into: t) }
    return t
  }

  public static func arange(_ end: Int, dtype: DType = .int64, device: Device = .default) -> Tensor {
    arange(0, Double(end), dtype: dtype, device: device)
  }

  /// Identity matrix.
  public static func eye(_ n: Int, dtype: DType = .float32, device: Device = .default) -> Tensor {
    let t = zeros([n, n], dtype: dtype, device: device)
    // The diagonal is a strided view with stride n + 1.
    if n > 0 { t.view(shape: [n], strides: [n + 1], offset: 0).fill(1) }
    return t
  }

  /// Uniform in [low, high).
  public static func rand(
    _ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
    generator: Generator = .global, device: Device = .default
  ) -> Tensor {
    random(shape, .uniform(low: low, high: high), dtype: dtype, generator: generator, device: device)
  }

  /// Normal with mean and std.
  public static func randn(
    _ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
    generator: Generator = .global, device: Device = .default
  ) -> Tensor {
    random(shape, .normal(mean: mean, std: std), dtype: dtype, generator: generator, device: device)
  }

  /// Integers uniform in low..<high.
  public static func randint(
    _ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int64, generator: Generator = .global,
    device: Device = .default
  ) -> Tensor {
    precondition(high > low, "Loom: randint needs high > low, got \(low)..<\(high)")
    return random(shape, .integers(low: low, high: high), dtype: dtype, generator: generator, device: device)
  }

  /// 1 with probability p, else 0 (same dtype as requested).
  public static func bernoulli(
    _ shape: [Int], p: Double, dtype: DType = .float32, generator: Generator = .global,
    device: Device = .default
  ) -> Tensor {
    random(shape, .bernoulli(p: p), dtype: dtype, generator: generator, device: device)
  }

  /// Draws through the device's backend from the generator's (seed, offset), then advances
  /// the offset past the values used: the same numbers on every device.
  static func random(
    _ shape: [Int], _ distribution: RandomDistribution, dtype: DType, generator: Generator, device: Device
  ) -> Tensor {
    let t = Tensor(empty: shape, dtype: dtype, device: device)
    let n = t.count
    if n > 0 {
      let offset = generator.reserve(n)
      t.backend.fillRandom(t, distribution, seed: generator.seed, offset: offset)
    }
    return t
  }

  /// A random permutation of 0..<n (int64), drawn on the host from `generator`.
  public static func randperm(_ n: Int, generator: Generator = .global, device: Device = .default) -> Tensor {
    var values = (0..<n).map { Int64($0) }
    if n > 1 {
      for i in stride(from: n - 1, to: 0, by: -1) {
        values.swapAt(i, generator.nextInt(below: i + 1))
      }
    }
    return Tensor(values, device: device)
  }

  /// Writes `value` into every element of this tensor's view in place (no autograd).
  public func fill(_ value: Double) {
    if count > 0 { backend.fill(self, with: value) }
  }

  /// Overwrites this tensor in place with N(mean, std²) draws from `generator` (torch's
  /// `normal_`, no autograd): the values `Tensor.randn(shape, mean:std:dtype:generator:)` would
  /// return, without allocating them first (model initialisation).
  public func fillNormal(mean: Double = 0, std: Double = 1, generator: Generator = .global) {
    guard count > 0 else { return }
    guard isContiguous else {
      copyIn(Tensor.randn(shape, mean: mean, std: std, dtype: dtype, generator: generator, device: device))
      return
    }
    backend.fillRandom(self, .normal(mean: mean, std: std), seed: generator.seed, offset: generator.reserve(count))
  }
}
