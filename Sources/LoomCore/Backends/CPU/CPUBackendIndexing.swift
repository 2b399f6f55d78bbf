import CLoomKernels

/// Gather, scatter-add, top-k and multinomial sampling on the CPU: row loops over raw
/// buffers (these run on index-sized data, off the hot path of training), and the column
/// gather / scatter-add of convolution patches (C kernels over the pool).
extension CPUBackend {
  public func takeColumns(_ x: Tensor, index: Tensor) -> Tensor {
    let xc = x.contiguous()
    let rows = xc.shape[0]
    let cols = xc.shape[1]
    let picked = index.count
    let out = Tensor(cpu: [rows, picked], dtype: xc.dtype)
    let ip = index.pointer(as: Int64.self)
    if xc.dtype == .float32 {
      loom_take_cols_f32(
        xc.pointer(as: Float.self), Int64(rows), Int64(cols), ip, Int64(picked),
        out.pointer(as: Float.self))
    } else {
      let s = xc.pointer(as: Double.self)
      let d = out.pointer(as: Double.self)
      for r in 0..<rows {
        for j in 0..<picked { d[r * picked + j] = ip[j] < 0 ? 0 : s[r * cols + Int(ip[j])] }
      }
    }
    return out
  }

  public func addColumns(_ base: Tensor, index: Tensor, source: Tensor) -> Tensor {
    let out = Tensor(cpu: base.shape, dtype: base.dtype)
    copy(base, into: out)
    let src = source.to(out.dtype).contiguous()
    let rows = out.shape[0]
    let cols = out.shape[1]
    let picked = index.count
    let ip = index.pointer(as: Int64.self)
    if out.dtype == .float32 {
      loom_add_cols_f32(
        out.pointer(as: Float.self), Int64(rows), Int64(cols), ip, Int64(picked),
        src.pointer(as: Float.self))
    } else {
      let s = src.pointer(as: Double.self)
      let d = out.pointer(as: Double.self)
      for r in 0..<rows {
        for j in 0..<picked where ip[j] >= 0 { d[r * cols + Int(ip[j])] += s[r * picked + j] }
      }
    }
    return out
  }

  public func gatherLastDim(_ x: Tensor, index: Tensor) -> Tensor {
    let rows = x.shape[0]
    let cols = x.shape[1]
    let outCols = index.shape[1]
    let out = Tensor(cpu: index.shape, dtype: x.dtype)
    let ip = index.pointer(as: Int64.self)
    func run<T>(_ s: UnsafeMutablePointer<T>, _ o: UnsafeMutablePointer<T>) {
      for r in 0..<rows {
        for c in 0..<outCols {
          var j = Int(ip[r * outCols + c])
          if j < 0 { j += cols }
          guard j >= 0 && j < cols else {
            opFailure(
              LoomError(
                "gather: index \(ip[r * outCols + c]) is out of bounds for a dimension of size \(cols)"
              ))
          }
          o[r * outCols + c] = s[r * cols + j]
        }
      }
    }
    if x.dtype == .float32 {
      run(x.pointer(as: Float.self), out.pointer(as: Float.self))
    } else {
      run(x.pointer(as: Double.self), out.pointer(as: Double.self))
    }
    return out
  }

  public func scatterAdd(_ base: Tensor, dim d: Int, index: Tensor, source: Tensor) -> Tensor {
    let out = Tensor(cpu: base.shape, dtype: base.dtype)
    copy(base, into: out)
    let src = source.contiguous()
    let rank = base.rank
    let idxStrides = Shape.contiguousStrides(index.shape)
    let srcStrides = src.strides
    let outStrides = out.strides
    let ip = index.pointer(as: Int64.self)
    let size = base.shape[d]
    var pos = [Int](repeating: 0, count: rank)
    for linear in 0..<index.count {
      var rem = linear
      for k in 0..<rank {
        pos[k] = rem / idxStrides[k]
        rem %= idxStrides[k]
      }
      var j = Int(ip[linear])
      if j < 0 { j += size }
      guard j >= 0 && j < size else {
        opFailure(
          LoomError(
            "scatterAdd: index \(ip[linear]) is out of bounds for dimension \(d) with size \(size)")
        )
      }
      var so = 0
      var oo = 0
      for k in 0..<rank {
        so += pos[k] * srcStrides[k]
        oo += (k == d ? j : pos[k]) * outStrides[k]
      }
      if out.dtype == .float32 {
        out.pointer(as: Float.self)[oo] += src.pointer(as: Float.self)[so]
      } else {
        out.pointer(as: Double.self)[oo] += src.pointer(as: Double.self)[so]
      }
    }
    return out
  }

  public func topkIndices(_ x: Tensor, k: Int, largest: Bool) -> Tensor {
    let rows = x.shape[0]
    let cols = x.shape[1]
    let values = x.to(.float64).contiguous()
    let indices = Tensor(cpu: [rows, k], dtype: .int64)
    let xp = values.pointer(as: Double.self)
    let ip = indices.pointer(as: Int64.self)
    var perm = [Int](repeating: 0, count: cols)
    for r in 0..<rows {
      let row = xp + r * cols
      for c in 0..<cols { perm[c] = c }
      // Stable: ties keep the lower index first; NaN counts as largest like PyTorch.
      perm.sort { a, b in
        let va = row[a]
        let vb = row[b]
        if va.isNaN || vb.isNaN {
          return va.isNaN && !vb.isNaN ? largest : (!va.isNaN && vb.isNaN ? !largest : a < b)
        }
        if va != vb { return largest ? va > vb : va < vb }
        return a < b
      }
      for c in 0..<k { ip[r * k + c] = Int64(perm[c]) }
    }
    return indices
  }

  public func multinomial(
    _ weights: Tensor, numSamples: Int, replacement: Bool, generator: Generator
  ) -> Tensor {
    let p2 = weights.to(.float64).contiguous()
    let rows = p2.shape[0]
    let cols = p2.shape[1]
    let out = Tensor(cpu: [rows, numSamples], dtype: .int64)
    let op = out.pointer(as: Int64.self)
    let pp = p2.pointer(as: Double.self)
    var w = [Double](repeating: 0, count: cols)
    for r in 0..<rows {
      for c in 0..<cols {
        let v = pp[r * cols + c]
        guard v >= 0 && v.isFinite else {
          opFailure(
            LoomError(
              "multinomial: probabilities must be finite and non-negative, got \(v) in row \(r)"))
        }
        w[c] = v
      }
      for s in 0..<numSamples {
        let total = w.reduce(0, +)
        guard total > 0 else {
          opFailure(LoomError("multinomial: row \(r) has no positive probability left"))
        }
        let u = generator.nextDouble() * total
        var acc = 0.0
        var pick = cols - 1
        for c in 0..<cols {
          acc += w[c]
          if u < acc && w[c] > 0 {
            pick = c
            break
          }
        }
        op[r * numSamples + s] = Int64(pick)
        if !replacement { w[pick] = 0 }
      }
    }
    return out
  }
}
