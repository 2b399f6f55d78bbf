/// One entry of a tensor subscript, like an item of a PyTorch index tuple:
/// an integer picks one position and removes the dimension, a range keeps it.
public enum TensorIndex: Sendable, Equatable {
  /// One position (negative counts from the end); removes the dimension.
  case index(Int)
  /// start..<end with a positive step (nil bounds run to the edge; negative bounds
  /// count from the end; out-of-range bounds are clamped, as in Python).
  case slice(start: Int?, end: Int?, step: Int)
  /// The whole dimension (`:`); `...` in a subscript means the same.
  case all
  /// As many whole dimensions as needed (PyTorch's `...`).
  case ellipsis
  /// A new dimension of size 1 (PyTorch's `None`).
  case newAxis
}

/// What a tensor subscript accepts: `Int`, `Range<Int>`, `ClosedRange<Int>`, partial
/// ranges (`2...`, `..<3`, `...3`) and `TensorIndex`.
public protocol TensorIndexConvertible {
  var tensorIndex: TensorIndex { get }
}

extension TensorIndex: TensorIndexConvertible {
  public var tensorIndex: TensorIndex { self }
}

extension Int: TensorIndexConvertible {
  public var tensorIndex: TensorIndex { .index(self) }
}

extension Range: TensorIndexConvertible where Bound == Int {
  public var tensorIndex: TensorIndex { .slice(start: lowerBound, end: upperBound, step: 1) }
}

extension ClosedRange: TensorIndexConvertible where Bound == Int {
  public var tensorIndex: TensorIndex {
    .slice(start: lowerBound, end: upperBound == -1 ? nil : upperBound + 1, step: 1)
  }
}

extension PartialRangeFrom: TensorIndexConvertible where Bound == Int {
  public var tensorIndex: TensorIndex { .slice(start: lowerBound, end: nil, step: 1) }
}

extension PartialRangeUpTo: TensorIndexConvertible where Bound == Int {
  public var tensorIndex: TensorIndex { .slice(start: nil, end: upperBound, step: 1) }
}

extension PartialRangeThrough: TensorIndexConvertible where Bound == Int {
  public var tensorIndex: TensorIndex {
    .slice(start: nil, end: upperBound == -1 ? nil : upperBound + 1, step: 1)
  }
}

// Subscripts return views sharing storage, recorded for autograd through `select` and
// `slice` (gradients flow back into the indexed positions):
//
//   t[1]            row 1 (the first dimension removed)
//   t[1, 2]         one element, as a 0-d tensor
//   t[..., 0..<3]   columns 0, 1, 2 of every row (`...` is one whole dimension)
//   t[TensorIndex.ellipsis, 0]   PyTorch's t[..., 0]
//   t[TensorIndex.slice(start: nil, end: nil, step: 2)]   PyTorch's t[::2]
extension Tensor {
  public subscript(_ indices: any TensorIndexConvertible...) -> Tensor {
    indexed(indices.map(\.tensorIndex))
  }

  public subscript(_ all: UnboundedRange, _ rest: any TensorIndexConvertible...) -> Tensor {
    indexed([.all] + rest.map(\.tensorIndex))
  }

  public subscript(
    _ first: any TensorIndexConvertible, _ all: UnboundedRange,
    _ rest: any TensorIndexConvertible...
  ) -> Tensor {
    indexed([first.tensorIndex, .all] + rest.map(\.tensorIndex))
  }

  public subscript(
    _ all: UnboundedRange, _ all2: UnboundedRange, _ rest: any TensorIndexConvertible...
  ) -> Tensor {
    indexed([.all, .all] + rest.map(\.tensorIndex))
  }

  /// Applies `indices` left to right, PyTorch's basic indexing.
  public func indexed(_ indices: [TensorIndex]) -> Tensor {
    let consuming = indices.filter { $0 != .newAxis && $0 != .ellipsis }.count
    let ellipses = indices.filter { $0 == .ellipsis }.count
    guard ellipses <= 1 else {
      opFailure(LoomError("subscript: at most one ellipsis is allowed, got \(ellipses)"))
    }
    guard consuming <= rank else {
      opFailure(
        LoomError(
          "subscript: too many indices (\(consuming)) for a tensor of rank \(rank), shape \(shape)")
      )
    }
    var out = self
    var d = 0
    for item in indices {
      switch item {
      case .index(let i):
        let size = out.shape[d]
        guard i >= -size && i < size else {
          opFailure(
            LoomError("subscript: index \(i) is out of bounds for dimension \(d) with size \(size)")
          )
        }
        out = out.select(dim: d, index: i)
      case .slice(let start, let end, let step):
        out = out.slice(dim: d, start: start ?? 0, end: end, step: step)
        d += 1
      case .all:
        d += 1
      case .ellipsis:
        d += rank - consuming
      case .newAxis:
        out = out.unsqueeze(d)
        d += 1
      }
    }
    return out
  }
}
