import Foundation
import LoomCore

/// Rotary position embedding (RoPE) with Hugging Face LLaMA's `rotate_half`
/// convention: the first `rotaryDim` features of each head are split in halves
/// (x₁, x₂) and rotated as (x₁·cos − x₂·sin, x₂·cos + x₁·sin) with angle
/// position · base^(−2i/rotaryDim); the remaining features pass through (partial
/// rotary, as in GPT-NeoX and Phi). Applies to [B, H, T, D] queries and keys and is
/// differentiable. No parameters.
open class RotaryEmbedding: Module {
  public let headDim: Int
  public let rotaryDim: Int
  public let base: Double

  /// Throws when `rotaryDim` is odd or larger than `headDim`.
  public init(headDim: Int, rotaryDim: Int? = nil, base: Double = 10000) throws {
    let r = rotaryDim ?? headDim
    guard headDim > 0, r > 0, r <= headDim, r % 2 == 0 else {
      throw LoomError(
        "RotaryEmbedding: rotary dim \(r) must be even and in 1...\(headDim) (head dim)")
    }
    (self.headDim, self.rotaryDim, self.base) = (headDim, r, base)
    super.init()
  }

  /// cos and sin of position · inverse frequency, [positions.shape…, rotaryDim / 2]
  /// (HF's `emb` is these twice over). Computed in double precision.
  public func cosSin(positions: Tensor, dtype: DType = .float32) -> (cos: Tensor, sin: Tensor) {
    // Tables are small: computed on the host from the positions, then uploaded.
    let ip = positions.to(.int64).int64s
    let half = rotaryDim / 2
    var cp = [Double](repeating: 0, count: ip.count * half)
    var sp = cp
    let inverseFrequency = (0..<half).map {
      1 / Foundation.pow(base, Double(2 * $0) / Double(rotaryDim))
    }
    for n in 0..<ip.count {
      let pos = Double(ip[n])
      for i in 0..<half {
        let angle = pos * inverseFrequency[i]
        cp[n * half + i] = Foundation.cos(angle)
        sp[n * half + i] = Foundation.sin(angle)
      }
    }
    let shape = positions.shape + [half]
    return (
      Tensor(cp, shape: shape, device: positions.device).to(dtype),
      Tensor(sp, shape: shape, device: positions.device).to(dtype)
    )
  }

  /// Rotates x [B, H, T, D] at positions offset..<offset + T.
  public func apply(_ x: Tensor, offset: Int = 0) -> Tensor {
    checkShape(x)
    let t = x.shape[2]
    return rotate(
      x, cosSin(positions: Tensor.arange(Double(offset), Double(offset + t), device: x.device), dtype: x.dtype))
  }

  /// Rotates x [B, H, T, D] at explicit positions [T] or [B, T] (e.g. left padding).
  public func apply(_ x: Tensor, positions: Tensor) -> Tensor {
    checkShape(x)
    let (b, t) = (x.shape[0], x.shape[2])
    guard positions.shape == [t] || positions.shape == [b, t], !positions.dtype.isFloatingPoint
    else {
      fatalError(
        "Loom: RotaryEmbedding: position ids must be integers [\(t)] or [\(b), \(t)], got \(positions.dtype) \(positions.shape)"
      )
    }
    var (c, s) = cosSin(positions: positions, dtype: x.dtype)
    if positions.rank == 2 { (c, s) = (c.unsqueeze(1), s.unsqueeze(1)) }  // [B, 1, T, R/2]
    return rotate(x, (c, s))
  }

  /// Rotated queries and keys at positions offset..<offset + T.
  public func callAsFunction(_ q: Tensor, _ k: Tensor, offset: Int = 0) -> (q: Tensor, k: Tensor) {
    (apply(q, offset: offset), apply(k, offset: offset))
  }

  public func callAsFunction(_ q: Tensor, _ k: Tensor, positions: Tensor) -> (q: Tensor, k: Tensor) {
    (apply(q, positions: positions), apply(k, positions: positions))
  }

  func checkShape(_ x: Tensor) {
    guard x.rank == 4, x.shape[3] == headDim else {
      fatalError("Loom: RotaryEmbedding: expected [batch, heads, T, \(headDim)], got \(x.shape)")
    }
  }

  /// (x₁·cos − x₂·sin, x₂·cos + x₁·sin, pass-through) — HF's x·cos + rotate_half(x)·sin
  /// written on the halves, so cos and sin are not duplicated.
  func rotate(_ x: Tensor, _ cs: (cos: Tensor, sin: Tensor)) -> Tensor {
    let half = rotaryDim / 2
    let x1 = x.slice(dim: 3, start: 0, end: half)
    let x2 = x.slice(dim: 3, start: half, end: rotaryDim)
    var parts = [x1 * cs.cos - x2 * cs.sin, x2 * cs.cos + x1 * cs.sin]
    if rotaryDim < headDim { parts.append(x.slice(dim: 3, start: rotaryDim, end: headDim)) }
    return Tensor.cat(parts, dim: 3)
  }
}
