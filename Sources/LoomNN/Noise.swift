import LoomCore

/// Input corruption for denoising autoencoders, on pixel values in [0, 1].
public enum ImageNoise: Equatable, Sendable, CustomStringConvertible {
  case none
  /// Adds N(0, std²) to every pixel, then clips to [0, 1].
  case gaussian(std: Double)
  /// Zeroes round(fraction · n) pixels of each image, chosen uniformly at random
  /// (Vincent et al.'s masking noise).
  case masking(fraction: Double)

  /// Parses "none", "gaussian:0.3" or "masking:0.25" (CLI syntax).
  public init(parsing text: String) throws {
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    let value = parts.count == 2 ? Double(parts[1]) : nil
    switch (parts.first ?? "", value) {
    case ("none", _) where parts.count == 1: self = .none
    case ("gaussian", let v?): self = .gaussian(std: v)
    case ("masking", let v?): self = .masking(fraction: v)
    default:
      throw LoomError(
        "noise '\(text)' is not one of none, gaussian:<std>, masking:<fraction> (e.g. gaussian:0.3)"
      )
    }
    try validate()
  }

  public var description: String {
    switch self {
    case .none: return "none"
    case .gaussian(let s): return "gaussian:\(s)"
    case .masking(let p): return "masking:\(p)"
    }
  }

  public func validate() throws {
    switch self {
    case .none: break
    case .gaussian(let s) where !(s >= 0 && s.isFinite):
      throw LoomError("gaussian noise std must be >= 0, got \(s)")
    case .masking(let p) where !(0...1).contains(p):
      throw LoomError("masking noise fraction must be in [0, 1], got \(p)")
    default: break
    }
  }

  /// Corrupts one image in place, drawing from `generator`.
  public func apply(_ pixels: UnsafeMutableBufferPointer<Float>, generator: Generator) {
    let n = pixels.count
    switch self {
    case .none:
      break
    case .gaussian(let std):
      for i in 0..<n {
        let v = Double(pixels[i]) + std * generator.nextNormal()
        pixels[i] = Float(Swift.min(Swift.max(v, 0), 1))
      }
    case .masking(let fraction):
      // Partial Fisher–Yates: the first k slots of a shuffled index list.
      let k = Swift.min(n, Int((fraction * Double(n)).rounded()))
      guard k > 0 else { return }
      var order = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
        for i in 0..<n { buffer[i] = Int32(i) }
        count = n
      }
      order.withUnsafeMutableBufferPointer { o in
        for i in 0..<k {
          o.swapAt(i, i + generator.nextInt(below: n - i))
          pixels[Int(o[i])] = 0
        }
      }
    }
  }

  /// A generator for one example: a fixed function of (seed, epoch, index), so noise
  /// is reproducible whatever the batch composition, thread or resume point.
  public static func generator(seed: UInt64, epoch: Int, index: Int) -> Generator {
    var h = seed ^ 0x6A09_E667_F3BC_C909
    for v in [UInt64(bitPattern: Int64(epoch)), UInt64(bitPattern: Int64(index))] {
      h = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
      h ^= h >> 29
    }
    return Generator(seed: h)
  }
}

/// Coded as its CLI string ("gaussian:0.3").
extension ImageNoise: Codable {
  public init(from decoder: Decoder) throws {
    try self.init(parsing: decoder.singleValueContainer().decode(String.self))
  }
  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

/// Corrupts its input [N, …] per example in training mode (a denoising autoencoder
/// noising inside the model); the identity in evaluation mode. The input should be a
/// data tensor (no gradient flows back through the noise).
open class NoiseLayer: Module {
  public let noise: ImageNoise
  public let generator: Generator

  public init(_ noise: ImageNoise, generator: Generator = .global) {
    self.noise = noise
    self.generator = generator
    super.init()
  }

  override open func forward(_ x: Tensor) -> Tensor {
    guard training, noise != .none, x.count > 0 else { return x }
    // Drawn through the input's backend from the generator's (seed, offset): the same
    // noise on every device.
    let clean = x.detach().to(.float32)
    switch noise {
    case .none:
      return x
    case .gaussian(let std):
      let n = Tensor.randn(clean.shape, std: std, generator: generator, device: x.device)
      return (clean + n).clamp(min: 0, max: 1)
    case .masking(let fraction):
      let rows = x.shape.first ?? 1
      let width = clean.count / Swift.max(rows, 1)
      let k = Swift.min(width, Int((fraction * Double(width)).rounded()))
      guard k > 0 else { return clean.contiguousCopy() }
      // k distinct pixels per row: the positions of the k smallest uniform keys.
      let keys = Tensor.rand([rows, width], generator: generator, device: x.device)
      let picked = keys.topk(k, dim: 1, largest: false).indices
      let hit = Tensor.zeros([rows, width], device: x.device).scatterAdd(
        dim: 1, index: picked, source: Tensor.ones([rows, k], device: x.device))
      return clean * (1 - hit).reshape(clean.shape)
    }
  }
}
