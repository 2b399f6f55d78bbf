
/// Reductions over dimensions. Work is arranged as a dense [rows, cols] problem
/// (summing rows or columns in place when the reduced dims are trailing or leading,
/// otherwise after one permuting copy) so the SIMD kernels do the arithmetic.
extension Tensor {
  func normalizedDims(_ dims: [Int], op: String) -> [Int] {
    let r = dims.map { d in validate { try Shape.normalize(dim: d, rank: rank, op: op) } }
    guard Set(r).count == r.count else { opFailure(LoomError("\(op): repeated dimension in \(dims)")) }
    return r.sorted()
  }

  /// Sum over `dims`; all elements when `dims` is empty.
  public func sum(dims: [Int] = [], keepDim: Bool = false) -> Tensor {
    let d = dims.isEmpty ? Array(0..<rank) : normalizedDims(dims, op: "sum")
    let out = backend.sum(self.detach(), dims: d, keepDim: keepDim)
    let inShape = shape
    let keptShape = shape.enumerated().map { d.contains($0.offset) ? 1 : $0.element }
    return out.recorded("SumBackward", inputs: [self]) { g, _ in
      [g.reshape(keptShape).expand(inShape)]
    }
  }

  public func sum(dim: Int, keepDim: Bool = false) -> Tensor { sum(dims: [dim], keepDim: keepDim) }

  /// Mean over `dims` (all when empty).
  public func mean(dims: [Int] = [], keepDim: Bool = false) -> Tensor {
    let d = dims.isEmpty ? Array(0..<rank) : normalizedDims(dims, op: "mean")
    let n = d.reduce(1) { $0 * shape[$1] }
    return sum(dims: d, keepDim: keepDim) * (1 / Double(Swift.max(n, 1)))
  }

  public func mean(dim: Int, keepDim: Bool = false) -> Tensor { mean(dims: [dim], keepDim: keepDim) }

  /// Variance (unbiased by default, like `torch.var`).
  public func variance(dims: [Int] = [], unbiased: Bool = true, keepDim: Bool = false) -> Tensor {
    let d = dims.isEmpty ? Array(0..<rank) : normalizedDims(dims, op: "var")
    let n = d.reduce(1) { $0 * shape[$1] }
    let centered = self - mean(dims: d, keepDim: true)
    return centered.square().sum(dims: d, keepDim: keepDim) * (1 / Double(Swift.max(unbiased ? n - 1 : n, 1)))
  }

  public func std(dims: [Int] = [], unbiased: Bool = true, keepDim: Bool = false) -> Tensor {
    variance(dims: dims, unbiased: unbiased, keepDim: keepDim).sqrt()
  }

  /// Max along a dimension with the index of the first maximum.
  public func max(dim: Int, keepDim: Bool = false) -> (values: Tensor, indices: Tensor) {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "max") }
    let order = (0..<rank).filter { $0 != d } + [d]
    let x = (dtype.isComputeType ? self : to(.float32)).detach().permute(order).contiguous()
    guard shape[d] > 0 else { opFailure(LoomError("max: cannot reduce over an empty dimension \(d) of shape \(shape)")) }
    var outShape = shape
    if keepDim { outShape[d] = 1 } else { outShape.remove(at: d) }
    let (v0, i0) = backend.maxLastDim(x)
    let values = v0.reshape(outShape), indices = i0.reshape(outShape)
    let inShape = shape
    let idx = keepDim ? indices : indices.unsqueeze(d)
    let out = values.recorded("MaxBackward", inputs: [self]) { g, _ in
      let gk = keepDim ? g : g.unsqueeze(d)
      return [Tensor.zeros(inShape, dtype: g.dtype, device: g.device).scatterAdd(dim: d, index: idx, source: gk)]
    }
    return (out, indices)
  }

  public func min(dim: Int, keepDim: Bool = false) -> (values: Tensor, indices: Tensor) {
    let r = (-self).max(dim: dim, keepDim: keepDim)
    return (-r.values, r.indices)
  }

  /// Largest element.
  public func max() -> Tensor { reshape([-1]).max(dim: 0).values }
  public func min() -> Tensor { reshape([-1]).min(dim: 0).values }

  public func argmax(dim: Int, keepDim: Bool = false) -> Tensor { self.max(dim: dim, keepDim: keepDim).indices }

  /// log(sum(exp(x))) along `dim`, computed stably.
  public func logSumExp(dim: Int, keepDim: Bool = false) -> Tensor {
    let m = noGrad { self.max(dim: dim, keepDim: true).values }
    let r = (self - m).exp().sum(dim: dim, keepDim: true).log() + m
    return keepDim ? r : r.squeeze(dim)
  }

  /// True where any / all elements are non-zero (bool result).
  public func any() -> Bool { toArray(Double.self).contains { $0 != 0 } }
  public func all() -> Bool { toArray(Double.self).allSatisfy { $0 != 0 } }
}

