/// Views share storage with their base; their backward maps gradients back to the
/// base's shape.
extension Tensor {
  func view(shape: [Int], strides: [Int], offset: Int) -> Tensor {
    Tensor(storage: storage, shape: shape, strides: strides, offset: offset, dtype: dtype)
  }

  /// A dense copy when not contiguous, else self.
  public func contiguous() -> Tensor {
    if isContiguous { return self }
    return contiguousCopy()
  }

  /// Always a fresh dense copy (keeps autograd history).
  public func contiguousCopy() -> Tensor {
    let out = Tensor(empty: shape, dtype: dtype, device: device)
    backend.copy(detach(), into: out)
    return out.recorded("CloneBackward", inputs: [self]) { g, _ in [g] }
  }

  /// Same as `contiguousCopy()`, PyTorch's name.
  public func clone() -> Tensor { contiguousCopy() }

  /// Reshape; a view when strides allow, else a copy. One dimension may be -1.
  public func reshape(_ newShape: [Int]) -> Tensor {
    let target = validate { try Shape.resolve(newShape, count: count, from: shape) }
    if target == shape { return self }
    let base = contiguous()
    let out = base.view(shape: target, strides: Shape.contiguousStrides(target), offset: base.offset)
    let inShape = shape
    return out.recorded("ViewBackward", inputs: [self]) { g, _ in [g.reshape(inShape)] }
  }

  public func reshape(_ dims: Int...) -> Tensor { reshape(dims) }
  public func view(_ dims: Int...) -> Tensor { reshape(dims) }

  /// Flattens dimensions start...end into one.
  public func flatten(startDim: Int = 0, endDim: Int = -1) -> Tensor {
    if rank == 0 { return reshape([1]) }
    let s = validate { try Shape.normalize(dim: startDim, rank: rank, op: "flatten") }
    let e = validate { try Shape.normalize(dim: endDim, rank: rank, op: "flatten") }
    let merged = shape[s...e].reduce(1, *)
    return reshape(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
  }

  /// Reorders dimensions.
  public func permute(_ dims: [Int]) -> Tensor {
    let norm = dims.map { d in validate { try Shape.normalize(dim: d, rank: rank, op: "permute") } }
    guard norm.count == rank, Set(norm).count == rank else {
      opFailure(LoomError("permute: \(dims) is not a permutation of \(rank) dimensions"))
    }
    let out = view(shape: norm.map { shape[$0] }, strides: norm.map { strides[$0] }, offset: offset)
    var inverse = [Int](repeating: 0, count: rank)
    for (i, d) in norm.enumerated() { inverse[d] = i }
    return out.recorded("PermuteBackward", inputs: [self]) { g, _ in [g.permute(inverse)] }
  }

  public func permute(_ dims: Int...) -> Tensor { permute(dims) }

  /// Swaps two dimensions.
  public func transpose(_ a: Int, _ b: Int) -> Tensor {
    let da = validate { try Shape.normalize(dim: a, rank: rank, op: "transpose") }
    let db = validate { try Shape.normalize(dim: b, rank: rank, op: "transpose") }
    var order = Array(0..<rank)
    order.swapAt(da, db)
    return permute(order)
  }

  /// Transpose of a 2-D tensor (last two dims for higher rank).
  public var T: Tensor { transpose(-2, -1) }

  /// Elements start..<end (step) along `dim` — PyTorch's `x[..., start:end:step, ...]`.
  public func slice(dim: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "slice") }
    let size = shape[d]
    func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + size : v, 0), size) }
    let s = clamp(start)
    let e = Swift.max(clamp(end ?? size), s)
    guard step >= 1 else { opFailure(LoomError("slice: step must be positive, got \(step)")) }
    let n = (e - s + step - 1) / step
    var newShape = shape
    newShape[d] = n
    var newStrides = strides
    newStrides[d] = strides[d] * step
    let out = view(shape: newShape, strides: newStrides, offset: offset + s * strides[d])
    let inShape = shape
    out.recorded("SliceBackward", inputs: [self]) { g, _ in
      [g.sliceScatter(into: inShape, dim: d, start: s, step: step)]
    }
    out.gradFn?.slice = (d, s, step)
    return out
  }

  /// Same as `slice(dim:start:end:)` with a length (PyTorch's `narrow`).
  public func narrow(dim: Int, start: Int, length: Int) -> Tensor {
    slice(dim: dim, start: start, end: start + length)
  }

  /// Picks one index along `dim`, removing that dimension.
  public func select(dim: Int, index: Int) -> Tensor {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "select") }
    let i = index < 0 ? index + shape[d] : index
    guard i >= 0 && i < shape[d] else {
      opFailure(LoomError("select: index \(index) is out of bounds for dimension \(d) with size \(shape[d])"))
    }
    return slice(dim: d, start: i, end: i + 1).squeeze(d)
  }

  /// Zeros of `shape` with self written at [start::step] along `dim` (slice's adjoint).
  func sliceScatter(into fullShape: [Int], dim: Int, start: Int, step: Int) -> Tensor {
    let out = Tensor.zeros(fullShape, dtype: dtype, device: device)
    let region = out.detach().slice(dim: dim, start: start, end: start + (shape[dim] - 1) * step + 1, step: step)
    region.copyIn(self)
    return out.recorded("SliceScatterBackward", inputs: [self]) { g, _ in
      [g.slice(dim: dim, start: start, end: start + (self.shape[dim] - 1) * step + 1, step: step)]
    }
  }

  /// Broadcasts to `newShape` without copying (size-1 dims get stride 0).
  public func expand(_ newShape: [Int]) -> Tensor {
    if newShape == shape { return self }
    guard newShape.count >= rank else {
      opFailure(LoomError("expand: cannot expand shape \(shape) to \(newShape)"))
    }
    let lead = newShape.count - rank
    var outShape = newShape
    var outStrides = [Int](repeating: 0, count: newShape.count)
    for i in 0..<newShape.count {
      if i < lead {
        guard newShape[i] >= 0 else { opFailure(LoomError("expand: invalid size \(newShape[i])")) }
        continue
      }
      let d = shape[i - lead]
      let target = newShape[i] == -1 ? d : newShape[i]
      if d == target {
        outStrides[i] = strides[i - lead]
      } else if d == 1 {
        outStrides[i] = 0
      } else {
        opFailure(LoomError("expand: the expanded size \(target) must match the existing size \(d) at dimension \(i) (shape \(shape) to \(newShape))"))
      }
      outShape[i] = target
    }
    let out = view(shape: outShape, strides: outStrides, offset: offset)
    let inShape = shape
    return out.recorded("ExpandBackward", inputs: [self]) { g, _ in [g.sum(toShape: inShape)] }
  }

  public func expand(as other: Tensor) -> Tensor { expand(other.shape) }

  /// Inserts a size-1 dimension.
  public func unsqueeze(_ dim: Int) -> Tensor {
    let d = validate { try Shape.normalize(dim: dim, rank: rank + 1, op: "unsqueeze") }
    var s = shape
    s.insert(1, at: d)
    return reshape(s)
  }

  /// Removes size-1 dimensions (all, or just `dim`).
  public func squeeze(_ dim: Int? = nil) -> Tensor {
    if let dim {
      let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "squeeze") }
      guard shape[d] == 1 else { return self }
      var s = shape
      s.remove(at: d)
      var st = strides
      st.remove(at: d)
      let out = view(shape: s, strides: st, offset: offset)
      let inShape = shape
      return out.recorded("SqueezeBackward", inputs: [self]) { g, _ in [g.reshape(inShape)] }
    }
    return reshape(shape.filter { $0 != 1 })
  }

  /// Writes `source` (broadcast to this view's shape) into this view's memory.
  /// Not recorded: used on fresh buffers and under `noGrad` (e.g. optimizer state).
  public func copyIn(_ source: Tensor) {
    let src = source.dtype == dtype ? source : source.to(dtype)
    let expanded = noGrad { src.expand(shape) }
    // The device side does the copy, so a host tensor can be copied into device memory and back.
    backend(with: expanded).copy(expanded.detach(), into: detach())
  }
}
