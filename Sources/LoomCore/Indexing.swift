/// Gather / scatter / select ops. Index tensors are int64 (int32 is converted).
extension Tensor {
  func checkedIndex(_ op: String) -> Tensor {
    guard dtype == .int64 || dtype == .int32 else {
      opFailure(LoomError("\(op): index tensor must be int64 or int32, got \(dtype)"))
    }
    return to(.int64).contiguous()
  }

  /// Entries along `dim` at the positions of a 1-D `index` (PyTorch's `index_select`).
  public func indexSelect(dim: Int, index: Tensor) -> Tensor {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "indexSelect") }
    guard index.rank <= 1 else {
      opFailure(LoomError("indexSelect: index must be 1-D, got shape \(index.shape)"))
    }
    let idx = index.checkedIndex("indexSelect").reshape([-1])
    if d == rank - 1 && rank >= 2 && (dtype == .float32 || dtype == .float64) {
      // Last dimension (convolution patches): gather columns row by row into a dense
      // result, instead of transposing so the output is a strided view.
      return takeColumns(
        validated: Self.columnIndex(idx, size: shape[d], allowPadding: false, op: "indexSelect"))
    }
    let moved = d == 0 ? self : transpose(0, d)
    let out0 = backend.takeRows(moved.detach(), index: idx)
    let movedShape = moved.shape
    let dtype = self.dtype
    let picked = out0.recorded("IndexSelectBackward", inputs: [moved]) { g, _ in
      guard !GradMode.isEnabled else {
        return [Tensor.zeros(movedShape, dtype: dtype, device: g.device).indexAdd(index: idx, source: g)]
      }
      // One buffer: rows added into the zeros in place (a [V, C] embedding gradient, not two).
      let grad = Tensor.zeros(movedShape, dtype: dtype, device: g.device)
      grad.backend.accumulateRows(into: grad, index: idx, source: g.detach())
      return [grad]
    }
    if d == 0 { picked.gradFn?.rowIndex = idx }
    return d == 0 ? picked : picked.transpose(0, d)
  }

  /// A copy of `self` with `source` rows added at `index` along dim 0.
  public func indexAdd(index: Tensor, source: Tensor) -> Tensor {
    let idx = index.checkedIndex("indexAdd").reshape([-1])
    let out = backend.addRows(detach(), index: idx, source: source.detach())
    return out.recorded("IndexAddBackward", inputs: [self, source]) { g, _ in
      [
        g,
        g.backend.takeRows(g.detach(), index: idx).recorded("IndexSelectBackward", inputs: [g]) {
          gg, _ in
          [Tensor.zeros(g.shape, dtype: g.dtype, device: g.device).indexAdd(index: idx, source: gg)]
        },
      ]
    }
  }

  /// Indices along a dimension of `size` as int64 in [0, size): negative ones count from the
  /// end, except −1 which stays a padding marker when `allowPadding`.
  static func columnIndex(_ index: Tensor, size: Int, allowPadding: Bool, op: String) -> Tensor {
    let ip = index.int64s
    var o = [Int64](repeating: 0, count: ip.count)
    for i in 0..<ip.count {
      var j = ip[i]
      if j < 0 && !(allowPadding && j == -1) { j += Int64(size) }
      guard (j >= 0 || (allowPadding && j == -1)) && j < size else {
        opFailure(
          LoomError("\(op): index \(ip[i]) is out of range for a dimension of size \(size)"))
      }
      o[i] = j
    }
    return Tensor(o, device: index.device)
  }

  /// `index` as a validated column index for the last dimension (−1 = padding); traps with
  /// the op's name on a non-float tensor or an index out of range.
  private func paddedColumnIndex(_ index: Tensor, op: String) -> Tensor {
    guard rank >= 1, dtype == .float32 || dtype == .float64 else {
      opFailure(LoomError("\(op): expected a float tensor of rank >= 1, got \(dtype) \(shape)"))
    }
    return Self.columnIndex(
      index.checkedIndex(op).reshape([-1]), size: shape[rank - 1], allowPadding: true, op: op)
  }

  /// Columns of the last dimension at a 1-D `index`, where −1 gives a zero column: the patch
  /// matrix of a padded convolution in one dense gather (`indexSelect(dim: -1)` without −1).
  /// Padding entries get no gradient; differentiable to any order.
  public func takeColumns(padded index: Tensor) -> Tensor {
    takeColumns(validated: paddedColumnIndex(index, op: "takeColumns"))
  }

  /// `takeColumns(padded:)` on an index known to be int64, dense and in [-1, columns) (e.g.
  /// convolution patch indices, valid by construction), so each step does not re-check it.
  package func takeColumns(validated idx: Tensor) -> Tensor {
    let inShape = shape
    let cols = inShape[rank - 1]
    let out = backend.takeColumns(detach().reshape([count / Swift.max(cols, 1), cols]), index: idx)
    return out.reshape(Array(inShape.dropLast()) + [idx.count])
      .recorded("IndexSelectBackward", inputs: [self]) { g, _ in
        [Tensor.zeros(inShape, dtype: g.dtype, device: g.device).addColumns(validated: idx, source: g)]
      }
  }

  /// A copy of `self` with source[…, j] added at self[…, index[j]] along the last dimension,
  /// where −1 entries are skipped (the adjoint of `takeColumns(padded:)`: col2im).
  /// Differentiable to any order.
  public func addColumns(padded index: Tensor, source: Tensor) -> Tensor {
    addColumns(validated: paddedColumnIndex(index, op: "addColumns"), source: source.to(dtype))
  }

  /// `addColumns(padded:source:)` on an already validated index (see `takeColumns(validated:)`).
  package func addColumns(validated idx: Tensor, source: Tensor) -> Tensor {
    let cols = shape[rank - 1]
    let rows = count / Swift.max(cols, 1)
    guard source.count == rows * idx.count else {
      opFailure(
        LoomError(
          "indexAdd: source \(source.shape) does not match \(rows) rows of \(idx.count) indices"))
    }
    let out = backend.addColumns(
      detach().reshape([rows, cols]), index: idx,
      source: source.detach().reshape([rows, idx.count])
    ).reshape(shape)
    let sourceShape = source.shape
    return out.recorded("IndexAddBackward", inputs: [self, source]) { g, _ in
      [g, g.takeColumns(validated: idx).reshape(sourceShape)]
    }
  }

  /// Like `torch.gather`: out[…, j, …] = self[…, index[…, j, …], …] along `dim`.
  public func gather(dim: Int, index: Tensor) -> Tensor {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "gather") }
    guard index.rank == rank else {
      opFailure(LoomError("gather: index rank \(index.rank) must equal input rank \(rank)"))
    }
    let idx = index.checkedIndex("gather")
    // Restrict other dims to the index's extent, move `dim` last, work row by row.
    var x = self.detach()
    for k in 0..<rank where k != d {
      guard idx.shape[k] <= shape[k] else {
        opFailure(
          LoomError(
            "gather: index shape \(index.shape) exceeds input shape \(shape) at dimension \(k)"))
      }
      if idx.shape[k] < shape[k] { x = x.slice(dim: k, start: 0, end: idx.shape[k]) }
    }
    let order = (0..<rank).filter { $0 != d } + [d]
    let xs = (x.dtype.isComputeType ? x : x.to(.float32)).permute(order).contiguous()
    let ii = idx.permute(order).contiguous()
    let cols = xs.shape[rank - 1]
    let outCols = ii.shape[rank - 1]
    let rows = ii.count / Swift.max(outCols, 1)
    let res = backend.gatherLastDim(xs.reshape([rows, cols]), index: ii.reshape([rows, outCols]))
      .reshape(ii.shape)
    var inverse = [Int](repeating: 0, count: rank)
    for (i, o) in order.enumerated() { inverse[o] = i }
    let out = res.permute(inverse).contiguous()
    let inShape = shape
    return out.recorded("GatherBackward", inputs: [self]) { g, _ in
      [Tensor.zeros(inShape, dtype: g.dtype, device: g.device).scatterAdd(dim: d, index: idx, source: g)]
    }
  }

  /// A copy of `self` with `source` added at `index` along `dim` (`torch.scatter_add`).
  public func scatterAdd(dim: Int, index: Tensor, source: Tensor) -> Tensor {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "scatterAdd") }
    let idx = index.checkedIndex("scatterAdd")
    guard idx.rank == rank, source.rank == rank else {
      opFailure(
        LoomError(
          "scatterAdd: index \(index.shape) and source \(source.shape) must have the rank of self \(shape)"
        ))
    }
    for k in 0..<rank where idx.shape[k] > source.shape[k] || (k != d && idx.shape[k] > shape[k]) {
      opFailure(
        LoomError(
          "scatterAdd: index \(index.shape) exceeds source \(source.shape) or self \(shape) at dimension \(k)"
        ))
    }
    let base = self.detach().to(dtype.isComputeType ? dtype : .float32).contiguous()
    let out = backend.scatterAdd(base, dim: d, index: idx, source: source.detach().to(base.dtype))
    let srcShape = source.shape
    return out.recorded("ScatterAddBackward", inputs: [self, source]) { g, _ in
      var gs = g.gather(dim: d, index: idx)
      if gs.shape != srcShape { gs = gs.reshape(srcShape) }
      return [g, gs]
    }
  }

  /// `where(condition, self, other)`.
  public func masked(where condition: Tensor, else other: Tensor) -> Tensor {
    Tensor.where(condition, self, other)
  }

  /// Elementwise choice: `a` where `condition` is true, else `b` (broadcasting).
  public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
    let shape1 = validate { try Shape.broadcast(a.shape, b.shape, op: "where") }
    let shape = validate { try Shape.broadcast(condition.shape, shape1, op: "where") }
    let dtype = promoted(a.dtype, b.dtype)
    let c = condition.to(.bool).detach().expand(shape)
    let ad = a.detach().to(dtype).expand(shape)
    let bd = b.detach().to(dtype).expand(shape)
    let out = a.backend.select(c, ad, bd)
    let (sa, sb) = (a.shape, b.shape)
    return out.recorded("WhereBackward", inputs: [a, b]) { g, _ in
      let zero = Tensor.zeros([], dtype: g.dtype, device: g.device)
      return [
        a.requiresGrad ? Tensor.where(c, g, zero).sum(toShape: sa) : nil,
        b.requiresGrad ? Tensor.where(c, zero, g).sum(toShape: sb) : nil,
      ]
    }
  }

  /// `value` where `mask` is true, else self.
  public func maskedFill(_ mask: Tensor, value: Double) -> Tensor {
    Tensor.where(mask, Tensor.scalar(value, dtype: dtype, device: device), self)
  }

  /// Lower triangle of the last two dims (entries above `diagonal` zeroed).
  public func tril(diagonal: Int = 0) -> Tensor {
    let mask = Tensor.triangleMask(
      rows: shape[rank - 2], cols: shape[rank - 1], diagonal: diagonal, lower: true, device: device)
    return Tensor.where(mask, self, Tensor.zeros([], dtype: dtype, device: device))
  }

  /// Upper triangle of the last two dims.
  public func triu(diagonal: Int = 0) -> Tensor {
    let mask = Tensor.triangleMask(
      rows: shape[rank - 2], cols: shape[rank - 1], diagonal: diagonal, lower: false, device: device)
    return Tensor.where(mask, self, Tensor.zeros([], dtype: dtype, device: device))
  }

  /// Bool [rows, cols]: true on and below (lower) or on and above (upper) `diagonal`.
  public static func triangleMask(
    rows: Int, cols: Int, diagonal: Int = 0, lower: Bool, device: Device = .default
  ) -> Tensor {
    var p = [Bool](repeating: false, count: rows * cols)
    for i in 0..<rows {
      for j in 0..<cols { p[i * cols + j] = lower ? (j - i <= diagonal) : (j - i >= diagonal) }
    }
    return Tensor(p, shape: [rows, cols], device: device)
  }

  /// One-hot encoding of integer classes (int64 result, like PyTorch).
  public func oneHot(numClasses: Int, dtype: DType = .int64) -> Tensor {
    let idx = checkedIndex("oneHot")
    for c in idx.int64s where c < 0 || c >= numClasses {
      opFailure(LoomError("oneHot: class \(c) is out of range for \(numClasses) classes"))
    }
    let ones = Tensor.ones(shape + [1], device: device)
    return Tensor.zeros(shape + [numClasses], device: device)
      .scatterAdd(dim: rank, index: idx.reshape(shape + [1]), source: ones).to(dtype)
  }

  /// Embedding lookup: rows of `weight` [V, C] for integer `ids` → ids.shape + [C].
  public static func embedding(_ ids: Tensor, weight: Tensor) -> Tensor {
    guard weight.rank == 2 else {
      opFailure(LoomError("embedding: weight must be [num_embeddings, dim], got \(weight.shape)"))
    }
    let flat = ids.checkedIndex("embedding").reshape([-1])
    let rows = weight.indexSelect(dim: 0, index: flat)
    return rows.reshape(ids.shape + [weight.shape[1]])
  }
}

/// Concatenation and splitting.
extension Tensor {
  /// Joins tensors along an existing dimension.
  public static func cat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
    guard let first = tensors.first else {
      opFailure(LoomError("cat: expected a non-empty list of tensors"))
    }
    let d = validate { try Shape.normalize(dim: dim, rank: first.rank, op: "cat") }
    let dtype = tensors.map(\.dtype).reduce(first.dtype, promoted)
    var outShape = first.shape
    outShape[d] = 0
    for (i, t) in tensors.enumerated() {
      guard t.rank == first.rank else {
        opFailure(LoomError("cat: tensor \(i) has rank \(t.rank), expected \(first.rank)"))
      }
      for k in 0..<t.rank where k != d && t.shape[k] != first.shape[k] {
        opFailure(
          LoomError(
            "cat: sizes must match except in dimension \(d): tensor 0 has shape \(first.shape), tensor \(i) has \(t.shape)"
          ))
      }
      outShape[d] += t.shape[d]
    }
    let out = Tensor(empty: outShape, dtype: dtype, device: first.device)
    var start = 0
    for t in tensors {
      let len = t.shape[d]
      if len > 0 { out.detach().slice(dim: d, start: start, end: start + len).copyIn(t.detach()) }
      start += len
    }
    let sizes = tensors.map { $0.shape[d] }
    return out.recorded("CatBackward", inputs: tensors) { g, _ in
      var s = 0
      return sizes.map { len in
        defer { s += len }
        return g.slice(dim: d, start: s, end: s + len)
      }
    }
  }

  /// Joins tensors along a new dimension.
  public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
    guard let first = tensors.first else {
      opFailure(LoomError("stack: expected a non-empty list of tensors"))
    }
    for (i, t) in tensors.enumerated() where t.shape != first.shape {
      opFailure(
        LoomError(
          "stack: all tensors must have the same shape: tensor 0 is \(first.shape), tensor \(i) is \(t.shape)"
        ))
    }
    let d = validate { try Shape.normalize(dim: dim, rank: first.rank + 1, op: "stack") }
    return cat(tensors.map { $0.unsqueeze(d) }, dim: d)
  }

  /// Splits into pieces of the given sizes along `dim` (views).
  public func split(_ sizes: [Int], dim: Int = 0) -> [Tensor] {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "split") }
    guard sizes.reduce(0, +) == shape[d] else {
      opFailure(
        LoomError("split: sizes \(sizes) do not add up to \(shape[d]) (dimension \(d) of \(shape))")
      )
    }
    var s = 0
    return sizes.map { len in
      defer { s += len }
      return slice(dim: d, start: s, end: s + len)
    }
  }

  /// Splits into pieces of `size` (the last may be smaller).
  public func split(size: Int, dim: Int = 0) -> [Tensor] {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "split") }
    let total = shape[d]
    var sizes: [Int] = []
    var s = 0
    while s < total {
      sizes.append(Swift.min(size, total - s))
      s += size
    }
    return split(sizes, dim: d)
  }

  /// Splits into `chunks` nearly equal pieces.
  public func chunk(_ chunks: Int, dim: Int = 0) -> [Tensor] {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "chunk") }
    let size = (shape[d] + chunks - 1) / chunks
    return split(size: Swift.max(size, 1), dim: d)
  }
}
