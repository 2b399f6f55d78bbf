/// A misuse of an op: wrong shapes, dtypes or indices. Validation functions throw it
/// (so tests and loaders can catch it); ops themselves stop with its message, the
/// way a PyTorch op raises, because a mis-shaped graph cannot continue.
public struct LoomError: Error, CustomStringConvertible, Equatable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Stops with the error's message; used where an op's precondition fails.
@inline(never)
func opFailure(_ error: Error) -> Never {
  fatalError("Loom: \(error)")
}

/// Runs a throwing validation inside an op.
@inline(__always)
func validate<T>(_ body: () throws -> T) -> T {
  do { return try body() } catch { opFailure(error) }
}

public enum Shape {
  /// Number of elements of a shape.
  @inlinable public static func count(_ shape: [Int]) -> Int {
    var n = 1
    for d in shape { n *= d }
    return n
  }

  /// Row-major strides of a contiguous tensor of this shape.
  public static func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
      strides[i] = acc
      acc *= max(shape[i], 1)
    }
    return strides
  }

  /// NumPy/PyTorch broadcasting of two shapes.
  public static func broadcast(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
    let n = max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
      let da = i < n - a.count ? 1 : a[i - (n - a.count)]
      let db = i < n - b.count ? 1 : b[i - (n - b.count)]
      if da == db || db == 1 {
        out[i] = da
      } else if da == 1 {
        out[i] = db
      } else {
        throw LoomError(
          "\(op): shapes \(a) and \(b) cannot be broadcast (dimension \(i): \(da) vs \(db))")
      }
    }
    return out
  }

  /// Normalises a possibly negative dimension index.
  public static func normalize(dim: Int, rank: Int, op: String) throws -> Int {
    let d = dim < 0 ? dim + rank : dim
    guard d >= 0 && d < max(rank, 1) else {
      throw LoomError("\(op): dimension \(dim) is out of range for a tensor of rank \(rank)")
    }
    return d
  }

  /// Resolves a reshape target with at most one -1.
  public static func resolve(_ target: [Int], count: Int, from shape: [Int]) throws -> [Int] {
    var out = target
    var inferred: Int? = nil
    var known = 1
    for (i, d) in target.enumerated() {
      if d == -1 {
        if inferred != nil { throw LoomError("reshape: only one dimension can be -1, got \(target)") }
        inferred = i
      } else if d < 0 {
        throw LoomError("reshape: invalid dimension \(d) in \(target)")
      } else {
        known *= d
      }
    }
    if let i = inferred {
      guard known > 0, count % known == 0 else {
        throw LoomError("reshape: shape \(shape) (\(count) elements) cannot be viewed as \(target)")
      }
      out[i] = count / known
    } else if known != count {
      throw LoomError("reshape: shape \(shape) (\(count) elements) cannot be viewed as \(target)")
    }
    return out
  }
}
