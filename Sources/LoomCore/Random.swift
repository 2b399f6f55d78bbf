import Foundation

/// A seedable generator (xoshiro256**, seeded through splitmix64). One seed
/// reproduces a run: every random op in Loom draws from `Generator.global` unless
/// given its own generator.
public final class Generator: @unchecked Sendable {
  private var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0
  private var spareNormal: Double? = nil

  nonisolated(unsafe) public static var global = Generator(seed: 0x5EED)

  public init(seed: UInt64) { reseed(seed) }

  /// Restarts the stream from `seed`.
  public func reseed(_ seed: UInt64) {
    var x = seed
    func splitmix() -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    spareNormal = nil
  }

  /// The full state, for checkpoints (resume reproduces the same stream).
  public var state: [UInt64] {
    get { [s0, s1, s2, s3, spareNormal.map { $0.bitPattern } ?? 0, spareNormal == nil ? 0 : 1] }
    set {
      precondition(newValue.count == 6, "Loom: generator state has 6 words")
      s0 = newValue[0]; s1 = newValue[1]; s2 = newValue[2]; s3 = newValue[3]
      spareNormal = newValue[5] == 1 ? Double(bitPattern: newValue[4]) : nil
    }
  }

  @inline(__always) public func next() -> UInt64 {
    let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
    let t = s1 << 17
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
    s2 ^= t
    s3 = (s3 << 45) | (s3 >> 19)
    return result
  }

  /// Uniform in [0, 1) with 53 random bits.
  @inline(__always) public func nextDouble() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// Uniform in [0, 1) as Float with 24 random bits.
  @inline(__always) public func nextFloat() -> Float {
    Float(next() >> 40) * 0x1.0p-24
  }

  /// Standard normal (Box–Muller, caching the second value).
  public func nextNormal() -> Double {
    if let v = spareNormal {
      spareNormal = nil
      return v
    }
    var u1 = nextDouble()
    while u1 <= 0 { u1 = nextDouble() }
    let u2 = nextDouble()
    let r = (-2 * Foundation.log(u1)).squareRoot()
    spareNormal = r * Foundation.sin(2 * .pi * u2)
    return r * Foundation.cos(2 * .pi * u2)
  }

  /// Uniform integer in 0..<bound.
  public func nextInt(below bound: Int) -> Int {
    precondition(bound > 0)
    return Int(next() % UInt64(bound))
  }
}

/// Seeds the global generator (like `torch.manual_seed`).
public func manualSeed(_ seed: UInt64) { Generator.global.reseed(seed) }
