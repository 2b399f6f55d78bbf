extension Tensor {
  /// Moves `dim` last and makes the data dense for row kernels; returns the inverse order.
  func rowsLast(_ dim: Int) -> (Tensor, [Int]?) {
    let d = validate { try Shape.normalize(dim: dim, rank: Swift.max(rank, 1), op: "softmax") }
    if d == rank - 1 || rank == 0 { return (contiguous(), nil) }
    let order = (0..<rank).filter { $0 != d } + [d]
    var inverse = [Int](repeating: 0, count: rank)
    for (i, o) in order.enumerated() { inverse[o] = i }
    return (permute(order).contiguous(), inverse)
  }

  /// softmax along `dim` (fused kernel for float32).
  public func softmax(dim: Int = -1) -> Tensor {
    if dtype.isHalf { return computedInFloat32([self], as: dtype) { $0[0].softmax(dim: dim) } }
    if dtype != .float32 {
      let m = noGrad { self.max(dim: dim, keepDim: true).values }
      let e = (self - m).exp()
      return e / e.sum(dim: dim, keepDim: true)
    }
    let (x, inverse) = detach().rowsLast(dim)
    let y0 = backend.softmax(x, log: false)
    let y = inverse.map { y0.permute($0) } ?? y0
    return y.recorded("SoftmaxBackward", inputs: [self]) { g, out in
      if GradMode.isEnabled {
        return [out * (g - (g * out).sum(dim: dim, keepDim: true))]
      }
      let (yc, inv) = out.detach().rowsLast(dim)
      let (gc, _) = g.rowsLast(dim)
      let gx = out.backend.softmaxBackward(output: yc, gradOutput: gc, log: false)
      return [inv.map { gx.permute($0) } ?? gx]
    }
  }

  /// log(softmax) along `dim`, computed stably (fused kernel for float32).
  public func logSoftmax(dim: Int = -1) -> Tensor {
    if dtype.isHalf { return computedInFloat32([self], as: dtype) { $0[0].logSoftmax(dim: dim) } }
    if dtype != .float32 {
      return self - logSumExp(dim: dim, keepDim: true)
    }
    let (x, inverse) = detach().rowsLast(dim)
    let y0 = backend.softmax(x, log: true)
    let y = inverse.map { y0.permute($0) } ?? y0
    return y.recorded("LogSoftmaxBackward", inputs: [self]) { g, out in
      if GradMode.isEnabled {
        return [g - out.exp() * g.sum(dim: dim, keepDim: true)]
      }
      let (yc, inv) = out.detach().rowsLast(dim)
      let (gc, _) = g.rowsLast(dim)
      let gx = out.backend.softmaxBackward(output: yc, gradOutput: gc, log: true)
      return [inv.map { gx.permute($0) } ?? gx]
    }
  }
}
