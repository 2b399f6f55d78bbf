import Foundation
import LoomCore

/// The original Transformer's fixed encodings, PE[pos, 2i] = sin(pos / 10000^(2i/d)),
/// PE[pos, 2i+1] = cos(…), kept as the buffer `pe` [maxLength, d] (in state dicts like
/// the PyTorch tutorial's module, never trained). Adds them to x [B, T, d] from
/// position `offset` (the number of cached positions when decoding incrementally).
open class SinusoidalPositionalEncoding: Module {
  @Buffer public var pe: Tensor
  public let dropout: Double
  public let generator: Generator

  public init(
    dimension: Int, maxLength: Int = 5000, base: Double = 10000, dropout: Double = 0,
    generator: Generator = .global
  ) {
    precondition(
      dimension > 0 && maxLength > 0,
      "SinusoidalPositionalEncoding: dimension and maxLength must be positive")
    pe = Self.table(length: maxLength, dimension: dimension, base: base)
    self.dropout = dropout
    self.generator = generator
    super.init()
  }

  public var maxLength: Int { pe.shape[0] }

  /// [length, dimension] encodings, computed in double precision.
  public static func table(
    length: Int, dimension d: Int, base: Double = 10000, dtype: DType = .float32
  ) -> Tensor {
    var p = [Double](repeating: 0, count: length * d)
    for i in stride(from: 0, to: d, by: 2) {
      let frequency = Foundation.exp(-Foundation.log(base) * Double(i) / Double(d))
      for pos in 0..<length {
        let angle = Double(pos) * frequency
        p[pos * d + i] = Foundation.sin(angle)
        if i + 1 < d { p[pos * d + i + 1] = Foundation.cos(angle) }
      }
    }
    return Tensor(p, shape: [length, d]).to(dtype)
  }

  /// Encodings of positions offset..<offset + length, [length, d].
  public func encodings(length: Int, offset: Int = 0) -> Tensor {
    guard offset >= 0, offset + length <= maxLength else {
      fatalError(
        "Loom: SinusoidalPositionalEncoding: positions \(offset)..<\(offset + length) exceed maxLength \(maxLength)"
      )
    }
    return pe.slice(dim: 0, start: offset, end: offset + length)
  }

  override open func forward(_ x: Tensor) -> Tensor { self(x, offset: 0) }

  /// x [B, T, d] (or [T, d]) plus the encodings of positions offset..<offset + T.
  public func callAsFunction(_ x: Tensor, offset: Int) -> Tensor {
    let d = pe.shape[1]
    guard x.rank >= 2, x.shape[x.rank - 1] == d else {
      fatalError(
        "Loom: SinusoidalPositionalEncoding: expected input [..., T, \(d)], got \(x.shape)")
    }
    let y = x + encodings(length: x.shape[x.rank - 2], offset: offset).to(x.dtype)
    return LoomCore.dropout(y, p: dropout, training: training, generator: generator)
  }
}

/// Trained position embeddings (an `Embedding` over positions, GPT-2's `wpe`):
/// `weight` [maxPositions, d]. Positions start at `offset` (cached positions when
/// decoding) or come as explicit ids.
open class LearnedPositionalEmbedding: Module {
  @Parameter public var weight: Tensor

  public init(maxPositions: Int, dimension: Int, generator: Generator = .global) {
    weight = Init.normal([maxPositions, dimension], std: 1, generator: generator)
    super.init()
  }

  public var maxPositions: Int { weight.shape[0] }

  /// Embeddings of positions offset..<offset + length, [length, d].
  public func embeddings(length: Int, offset: Int = 0) -> Tensor {
    guard offset >= 0, offset + length <= maxPositions else {
      fatalError(
        "Loom: LearnedPositionalEmbedding: positions \(offset)..<\(offset + length) exceed maxPositions \(maxPositions)"
      )
    }
    return weight.slice(dim: 0, start: offset, end: offset + length)
  }

  /// Embeddings of integer position ids (any shape) → ids.shape + [d].
  public func embeddings(positions: Tensor) -> Tensor {
    Tensor.embedding(positions, weight: weight)
  }

  override open func forward(_ x: Tensor) -> Tensor { self(x, offset: 0) }

  /// x [B, T, d] (or [T, d]) plus the embeddings of positions offset..<offset + T.
  public func callAsFunction(_ x: Tensor, offset: Int) -> Tensor {
    let d = weight.shape[1]
    guard x.rank >= 2, x.shape[x.rank - 1] == d else {
      fatalError("Loom: LearnedPositionalEmbedding: expected input [..., T, \(d)], got \(x.shape)")
    }
    return x + embeddings(length: x.shape[x.rank - 2], offset: offset)
  }
}
