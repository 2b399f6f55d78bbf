import CLoomKernels

/// The CPU backend: float32 work goes to the C kernels (SIMD, threaded) and CBLAS;
/// float64 and integer dtypes use plain Swift loops.
public final class CPUBackend: Backend, @unchecked Sendable {
  public static let shared = CPUBackend()
  public var device: Device { .cpu }

  public func copy(_ source: Tensor, into destination: Tensor) {
    precondition(source.shape == destination.shape && source.dtype == destination.dtype)
    if destination.isContiguous {
      StridedCopy.copy(source, to: destination.rawPointer)
    } else {
      StridedCopy.copy(source, to: destination.rawPointer, dstStrides: destination.strides)
    }
  }

  public func convert(_ x: Tensor, to dtype: DType) -> Tensor {
    let src = x.contiguous()
    let out = Tensor(cpu: x.shape, dtype: dtype)
    Cast.convert(src.rawPointer, from: x.dtype, to: out.rawPointer, as: dtype, count: x.count)
    return out
  }

  public func unaryBackward(_ op: UnaryOp, input: Tensor, gradOutput: Tensor) -> Tensor? {
    if input.dtype.isHalf && gradOutput.dtype == input.dtype {
      return unaryBackward(op, input: input.to(.float32), gradOutput: gradOutput.to(.float32))?.to(input.dtype)
    }
    guard input.dtype == .float32, gradOutput.dtype == .float32, op.rawValue < 100 else { return nil }
    let x = input.contiguous(), g = gradOutput.contiguous()
    let gx = Tensor(cpu: input.shape, dtype: .float32)
    loom_unary_backward_f32(op.rawValue, x.pointer(as: Float.self), g.pointer(as: Float.self), gx.pointer(as: Float.self), Int64(x.count))
    return gx
  }

  public func pow(_ x: Tensor, exponent: Double) -> Tensor {
    if x.dtype.isHalf { return pow(x.detach().to(.float32), exponent: exponent).to(x.dtype) }
    guard x.dtype == .float32 else { return binary(.pow, x, Tensor.scalar(exponent, dtype: x.dtype, device: .cpu)) }
    let xc = x.contiguous()
    let out = Tensor(cpu: x.shape, dtype: .float32)
    loom_pow_scalar_f32(xc.pointer(as: Float.self), Float(exponent), out.pointer(as: Float.self), Int64(x.count))
    return out
  }

  public func leakyRelu(_ x: Tensor, negativeSlope: Double) -> Tensor {
    if x.dtype.isHalf { return leakyRelu(x.detach().to(.float32), negativeSlope: negativeSlope).to(x.dtype) }
    let xc = (x.dtype.isComputeType ? x : x.to(.float32)).contiguous()
    let out = Tensor(cpu: x.shape, dtype: xc.dtype)
    if xc.dtype == .float32 {
      loom_leaky_relu_f32(xc.pointer(as: Float.self), Float(negativeSlope), out.pointer(as: Float.self), Int64(x.count))
    } else {
      let p = xc.pointer(as: Double.self), o = out.pointer(as: Double.self)
      for i in 0..<x.count { o[i] = p[i] > 0 ? p[i] : p[i] * negativeSlope }
    }
    return out
  }

  public func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
    let shape = condition.shape
    let dtype = a.dtype
    let c = condition.contiguous(), ad = a.contiguous(), bd = b.contiguous()
    let out = Tensor(cpu: shape, dtype: dtype)
    let n = out.count, cp = c.pointer(as: Bool.self), bs = dtype.byteSize
    let pa = ad.rawPointer, pb = bd.rawPointer, po = out.rawPointer
    if dtype == .float32 {
      let fa = pa.assumingMemoryBound(to: Float.self), fb = pb.assumingMemoryBound(to: Float.self)
      let fo = po.assumingMemoryBound(to: Float.self)
      for i in 0..<n { fo[i] = cp[i] ? fa[i] : fb[i] }
    } else {
      for i in 0..<n { (po + i * bs).copyMemory(from: (cp[i] ? pa : pb) + i * bs, byteCount: bs) }
    }
    return out
  }

  public func maxLastDim(_ x: Tensor) -> (values: Tensor, indices: Tensor) {
    let cols = x.shape.last ?? 1
    let rows = x.count / Swift.max(cols, 1)
    let xs = x.contiguous()
    let outShape = Array(x.shape.dropLast())
    let values = Tensor(cpu: outShape, dtype: x.dtype)
    let indices = Tensor(cpu: outShape, dtype: .int64)
    let ip = indices.pointer(as: Int64.self)
    if x.dtype == .float32 {
      loom_max_rows_f32(xs.pointer(as: Float.self), values.pointer(as: Float.self), ip, Int64(rows), Int64(cols))
    } else {
      let p = xs.pointer(as: Double.self), v = values.pointer(as: Double.self)
      for r in 0..<rows {
        var best = p[r * cols], at = 0
        for c in 1..<cols where p[r * cols + c] > best || (p[r * cols + c].isNaN && !best.isNaN) {
          best = p[r * cols + c]
          at = c
        }
        v[r] = best
        ip[r] = Int64(at)
      }
    }
    return (values, indices)
  }

  public func takeRows(_ x: Tensor, index: Tensor) -> Tensor {
    let xc = x.contiguous()
    let rows = xc.shape[0]
    let rowElems = xc.count / Swift.max(rows, 1)
    let n = index.count
    let out = Tensor(cpu: [n] + Array(xc.shape.dropFirst()), dtype: xc.dtype)
    let ip = index.pointer(as: Int64.self)
    let bytes = rowElems * xc.dtype.byteSize
    let src = xc.rawPointer, dst = out.rawPointer
    for i in 0..<n {
      var r = Int(ip[i])
      if r < 0 { r += rows }
      guard r >= 0 && r < rows else {
        opFailure(LoomError("index \(ip[i]) is out of range for dimension of size \(rows)"))
      }
      (dst + i * bytes).copyMemory(from: src + r * bytes, byteCount: bytes)
    }
    return out
  }

  public func addRows(_ base: Tensor, index: Tensor, source: Tensor) -> Tensor {
    let out = Tensor(cpu: base.shape, dtype: base.dtype)
    copy(base, into: out)
    accumulateRows(into: out, index: index, source: source)
    return out
  }

  public func accumulateRows(into out: Tensor, index: Tensor, source: Tensor) {
    precondition(out.isContiguous, "Loom internal: accumulateRows needs a dense base")
    let src = source.to(out.dtype).contiguous()
    let rows = out.shape[0]
    let rowElems = out.count / Swift.max(rows, 1)
    let ip = index.pointer(as: Int64.self)
    for i in 0..<index.count {
      var r = Int(ip[i])
      if r < 0 { r += rows }
      guard r >= 0 && r < rows else {
        opFailure(LoomError("index \(ip[i]) is out of range for dimension of size \(rows)"))
      }
      if out.dtype == .float32 {
        loom_axpy_f32(1, src.pointer(as: Float.self) + i * rowElems, out.pointer(as: Float.self) + r * rowElems, Int64(rowElems))
      } else {
        let d = out.pointer(as: Double.self) + r * rowElems, s = src.pointer(as: Double.self) + i * rowElems
        for j in 0..<rowElems { d[j] += s[j] }
      }
    }
  }

  public func accumulate(_ source: Tensor, into destination: Tensor) {
    precondition(
      destination.isContiguous && source.shape == destination.shape && source.dtype == destination.dtype,
      "Loom internal: accumulate needs a dense destination of the source's shape and dtype")
    guard destination.dtype == .float32 else {
      copy(binary(.add, destination, source), into: destination)
      return
    }
    let src = source.contiguous()
    loom_axpy_f32(1, src.pointer(as: Float.self), destination.pointer(as: Float.self), Int64(destination.count))
  }
}
