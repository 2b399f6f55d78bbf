import Foundation

/// A seedable counter-based generator (Philox4x32-10, as PyTorch's CUDA generator): its
/// state is (seed, offset), and draw number `offset + i` is a pure function of both, so a
/// backend fills N values in any order or in parallel, and every device gets the same
/// numbers. Each random op reserves the offsets it uses. Every random op in Loom draws
/// from `Generator.global` unless given its own generator.
public final class Generator: @unchecked Sendable {
  public private(set) var seed: UInt64
  /// Draws used so far.
  public private(set) var offset: UInt64 = 0

  nonisolated(unsafe) public static var global = Generator(seed: 0x5EED)

  public init(seed: UInt64) { self.seed = seed }

  /// Restarts the stream from `seed`.
  public func reseed(_ seed: UInt64) {
    self.seed = seed
    offset = 0
  }

  /// The full state [seed, offset], for checkpoints (resume reproduces the same stream).
  public var state: [UInt64] {
    get { [seed, offset] }
    set {
      precondition(newValue.count == 2, "Loom: generator state is [seed, offset], got \(newValue.count) words")
      (seed, offset) = (newValue[0], newValue[1])
    }
  }

  /// Reserves `count` draws and returns the offset of the first.
  public func reserve(_ count: Int) -> UInt64 {
    defer { offset &+= UInt64(count) }
    return offset
  }

  /// One draw on the host (data shuffles, sampling decisions): 64 random bits.
  @inline(__always) public func next() -> UInt64 { Philox.bits64(seed: seed, counter: reserve(1)) }

  /// Uniform in [0, 1) with 53 random bits.
  @inline(__always) public func nextDouble() -> Double {
    Philox.uniformDouble(seed: seed, counter: reserve(1))
  }

  /// Uniform in [0, 1) as Float with 24 random bits.
  @inline(__always) public func nextFloat() -> Float {
    Philox.uniformFloat(seed: seed, counter: reserve(1))
  }

  /// Standard normal (Box–Muller on one draw's 128 bits).
  public func nextNormal() -> Double { Philox.normal(seed: seed, counter: reserve(1)) }

  /// Uniform integer in 0..<bound.
  public func nextInt(below bound: Int) -> Int {
    precondition(bound > 0)
    return Int(next() % UInt64(bound))
  }
}

/// Seeds the global generator (like `torch.manual_seed`).
public func manualSeed(_ seed: UInt64) { Generator.global.reseed(seed) }

/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): 128 random
/// bits per 128-bit counter under a 64-bit key. Draw `counter` uses the counter
/// (counter_lo, counter_hi, 0, 0) and the seed as key; distributions map those bits the
/// same way on the host and in every backend.
public enum Philox {
  @inline(__always)
  public static func block(seed: UInt64, counter: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
    var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
    var c2: UInt32 = 0, c3: UInt32 = 0
    var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
    for round in 0..<10 {
      if round > 0 {
        k0 &+= 0x9E37_79B9
        k1 &+= 0xBB67_AE85
      }
      let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
      let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
      (c0, c1, c2, c3) = (
        UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0, UInt32(truncatingIfNeeded: p1),
        UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1, UInt32(truncatingIfNeeded: p0)
      )
    }
    return (c0, c1, c2, c3)
  }

  @inline(__always) public static func bits64(seed: UInt64, counter: UInt64) -> UInt64 {
    let b = block(seed: seed, counter: counter)
    return UInt64(b.0) << 32 | UInt64(b.1)
  }

  @inline(__always) public static func uniformDouble(seed: UInt64, counter: UInt64) -> Double {
    Double(bits64(seed: seed, counter: counter) >> 11) * 0x1.0p-53
  }

  @inline(__always) public static func uniformFloat(seed: UInt64, counter: UInt64) -> Float {
    Float(block(seed: seed, counter: counter).0 >> 8) * 0x1.0p-24
  }

  /// Box–Muller's first value (see `normalPair`).
  @inline(__always) public static func normal(seed: UInt64, counter: UInt64) -> Double {
    normalPair(seed: seed, counter: counter).0
  }

  /// Two independent standard normals from one block: Box–Muller with u1 in (0, 1] from the
  /// first 64 bits and u2 from the last 64.
  @inline(__always) public static func normalPair(seed: UInt64, counter: UInt64) -> (Double, Double) {
    let b = block(seed: seed, counter: counter)
    let u1 = (Double((UInt64(b.0) << 32 | UInt64(b.1)) >> 11) + 1) * 0x1.0p-53
    let u2 = Double((UInt64(b.2) << 32 | UInt64(b.3)) >> 11) * 0x1.0p-53
    let r = (-2 * Foundation.log(u1)).squareRoot()
    let angle = 2 * Double.pi * u2
    return (r * Foundation.cos(angle), r * Foundation.sin(angle))
  }

  /// Calls `body(i, word)` for i in 0..<count with the 32-bit words of blocks offset,
  /// offset + 1, …: four values per block.
  @inline(__always)
  public static func forEachWord(seed: UInt64, offset: UInt64, count: Int, _ body: (Int, UInt32) -> Void) {
    var i = 0
    var counter = offset
    while i < count {
      let b = block(seed: seed, counter: counter)
      body(i, b.0)
      if i + 1 < count { body(i + 1, b.1) }
      if i + 2 < count { body(i + 2, b.2) }
      if i + 3 < count { body(i + 3, b.3) }
      i += 4
      counter &+= 1
    }
  }
}
