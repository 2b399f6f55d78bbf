/// Sorting, top-k and sampling.
extension Tensor {
  /// The k largest (or smallest) entries along `dim`, sorted, with their indices.
  public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) -> (values: Tensor, indices: Tensor) {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "topk") }
    guard k >= 0 && k <= shape[d] else {
      opFailure(LoomError("topk: k = \(k) is out of range for dimension \(d) of size \(shape[d])"))
    }
    let order = (0..<rank).filter { $0 != d } + [d]
    let x = (dtype.isComputeType ? self : to(.float32)).detach().to(.float64).permute(order).contiguous()
    let cols = shape[d]
    let rows = x.count / Swift.max(cols, 1)
    var idxShape = x.shape
    idxShape[rank - 1] = k
    let indices = Tensor(empty: idxShape, dtype: .int64)
    let xp = x.pointer(as: Double.self), ip = indices.pointer(as: Int64.self)
    var perm = [Int](repeating: 0, count: cols)
    for r in 0..<rows {
      let row = xp + r * cols
      for c in 0..<cols { perm[c] = c }
      // Stable: ties keep the lower index first; NaN counts as largest like PyTorch.
      perm.sort { a, b in
        let va = row[a], vb = row[b]
        if va.isNaN || vb.isNaN { return va.isNaN && !vb.isNaN ? largest : (!va.isNaN && vb.isNaN ? !largest : a < b) }
        if va != vb { return largest ? va > vb : va < vb }
        return a < b
      }
      for c in 0..<k { ip[r * k + c] = Int64(perm[c]) }
    }
    var inverse = [Int](repeating: 0, count: rank)
    for (i, o) in order.enumerated() { inverse[o] = i }
    let idx = indices.permute(inverse).contiguous()
    return (gather(dim: d, index: idx), idx)
  }

  /// Sorted values and indices along `dim`.
  public func sort(dim: Int = -1, descending: Bool = false) -> (values: Tensor, indices: Tensor) {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "sort") }
    return topk(shape[d], dim: d, largest: descending)
  }

  /// Draws `numSamples` category indices per row from (unnormalised, non-negative)
  /// probabilities [C] or [N, C], like `torch.multinomial`.
  public func multinomial(numSamples: Int, replacement: Bool = false, generator: Generator = .global) -> Tensor {
    guard rank == 1 || rank == 2 else { opFailure(LoomError("multinomial: expected 1-D or 2-D probabilities, got \(shape)")) }
    let p2 = (rank == 1 ? unsqueeze(0) : self).detach().to(.float64).contiguous()
    let rows = p2.shape[0], cols = p2.shape[1]
    guard replacement || numSamples <= cols else {
      opFailure(LoomError("multinomial: cannot draw \(numSamples) samples without replacement from \(cols) categories"))
    }
    let out = Tensor(empty: [rows, numSamples], dtype: .int64)
    let op = out.pointer(as: Int64.self)
    let pp = p2.pointer(as: Double.self)
    var w = [Double](repeating: 0, count: cols)
    for r in 0..<rows {
      for c in 0..<cols {
        let v = pp[r * cols + c]
        guard v >= 0 && v.isFinite else {
          opFailure(LoomError("multinomial: probabilities must be finite and non-negative, got \(v) in row \(r)"))
        }
        w[c] = v
      }
      for s in 0..<numSamples {
        let total = w.reduce(0, +)
        guard total > 0 else { opFailure(LoomError("multinomial: row \(r) has no positive probability left")) }
        let u = generator.nextDouble() * total
        var acc = 0.0, pick = cols - 1
        for c in 0..<cols {
          acc += w[c]
          if u < acc && w[c] > 0 { pick = c; break }
        }
        op[r * numSamples + s] = Int64(pick)
        if !replacement { w[pick] = 0 }
      }
    }
    return rank == 1 ? out.squeeze(0) : out
  }
}
