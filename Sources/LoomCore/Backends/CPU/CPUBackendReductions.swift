import CLoomKernels

import CLoomKernels

extension CPUBackend {
  /// Sum over `dims` (all when empty); no autograd.
  public func sum(_ x0: Tensor, dims: [Int], keepDim: Bool) -> Tensor {
    // Half types: float32 accumulation, the result rounded back (torch's dtype).
    if x0.dtype.isHalf { return sum(x0.detach().to(.float32), dims: dims, keepDim: keepDim).to(x0.dtype) }
    let x = (x0.dtype.isComputeType ? x0 : x0.to(x0.dtype.isFloatingPoint ? .float32 : .float64)).detach()
    let reduce = Set(dims)
    let keptShape = x.shape.enumerated().map { reduce.contains($0.offset) ? 1 : $0.element }
    let outShape = keepDim ? keptShape : x.shape.enumerated().filter { !reduce.contains($0.offset) }.map(\.element)
    let out = Tensor(cpu: outShape, dtype: x.dtype)
    let kept = Shape.count(keptShape)
    let total = x.count
    if total == 0 {
      out.fill(0)
      return out
    }
    let reduced = total / kept
    let keptDims = (0..<x.rank).filter { !reduce.contains($0) }
    // Choose layout: reduced dims trailing → sum rows; leading → sum columns.
    let trailing = keptDims.allSatisfy { d in dims.allSatisfy { $0 > d } }
    let leading = keptDims.allSatisfy { d in dims.allSatisfy { $0 < d } }
    let src: Tensor
    var byColumns = false
    if x.isContiguous && trailing {
      src = x
    } else if x.isContiguous && leading {
      src = x
      byColumns = true
    } else {
      src = x.permute(keptDims + dims.sorted()).contiguous()
    }
    if x.dtype == .float32 {
      let p = src.pointer(as: Float.self), o = out.pointer(as: Float.self)
      if kept == 1 {
        o.pointee = Float(loom_sum_f32(p, Int64(total)))
      } else if byColumns {
        loom_sum_cols_f32(p, o, Int64(reduced), Int64(kept))
      } else {
        loom_sum_rows_f32(p, o, Int64(kept), Int64(reduced))
      }
    } else {
      let p = src.pointer(as: Double.self), o = out.pointer(as: Double.self)
      if byColumns {
        for c in 0..<kept { o[c] = 0 }
        for r in 0..<reduced { for c in 0..<kept { o[c] += p[r * kept + c] } }
      } else {
        for r in 0..<kept {
          var s = 0.0
          for c in 0..<reduced { s += p[r * reduced + c] }
          o[r] = s
        }
      }
    }
    return out
  }

}
