import CLoomKernels
import Foundation

/// Binary elementwise ops on the CPU. Float32 runs the C kernels (SIMD, threaded);
/// float64 and other dtypes run plain Swift loops (gradient checks, indices).
public enum BinaryOp: Int32, Sendable {
  case add = 0, sub = 1, mul = 2, div = 3
  case maximum, minimum, pow

  public var name: String {
    switch self {
    case .add: return "add"
    case .sub: return "sub"
    case .mul: return "mul"
    case .div: return "div"
    case .maximum: return "maximum"
    case .minimum: return "minimum"
    case .pow: return "pow"
    }
  }
}

public enum UnaryOp: Int32, Sendable {
  case exp = 0, log, sqrt, rsqrt, tanh, sigmoid, relu, geluErf, geluTanh, silu, neg, abs, square,
    reciprocal, sin, cos
  // Swift-only (not in the C enum).
  case erf = 100, sign
}

func promoted(_ a: DType, _ b: DType) -> DType {
  if a == b { return a }
  if a == .float64 || b == .float64 { return .float64 }
  if a.isFloatingPoint || b.isFloatingPoint { return .float32 }
  if a == .int64 || b == .int64 { return .int64 }
  return .int32
}

extension CPUBackend {
  /// out = a op b with broadcasting; no autograd.
  public func binary(_ op: BinaryOp, _ a0: Tensor, _ b0: Tensor) -> Tensor {
    let dtype = promoted(a0.dtype, b0.dtype)
    if dtype.isHalf {
      // No half arithmetic on this CPU: the float32 kernels, one rounding of the result.
      return binary(op, a0.detach().to(.float32), b0.detach().to(.float32)).to(dtype)
    }
    let a = a0.to(dtype).detach()
    let b = b0.to(dtype).detach()
    let outShape = validate { try Shape.broadcast(a.shape, b.shape, op: op.name) }
    let out = Tensor(cpu: outShape, dtype: dtype)
    let n = out.count
    if n == 0 { return out }
    if dtype == .float32 && op.rawValue <= 3 {
      let o = out.pointer(as: Float.self)
      // Same shape, both dense.
      if a.shape == outShape && b.shape == outShape && a.isContiguous && b.isContiguous {
        let pa = a.pointer(as: Float.self), pb = b.pointer(as: Float.self)
        switch op {
        case .add: loom_add_f32(pa, pb, o, Int64(n))
        case .sub: loom_sub_f32(pa, pb, o, Int64(n))
        case .mul: loom_mul_f32(pa, pb, o, Int64(n))
        default: loom_div_f32(pa, pb, o, Int64(n))
        }
        return out
      }
      // Tensor op scalar.
      if b.count == 1 && a.shape == outShape && a.isContiguous {
        let s = b.contiguous().pointer(as: Float.self).pointee
        let pa = a.pointer(as: Float.self)
        switch op {
        case .add: loom_affine_f32(pa, 1, s, o, Int64(n))
        case .sub: loom_affine_f32(pa, 1, -s, o, Int64(n))
        case .mul: loom_affine_f32(pa, s, 0, o, Int64(n))
        default:
          let sb = Tensor.full(outShape, Double(s), device: .cpu)
          loom_div_f32(pa, sb.pointer(as: Float.self), o, Int64(n))
        }
        return out
      }
      // Scalar op tensor for commutative ops.
      if a.count == 1 && b.shape == outShape && b.isContiguous && (op == .add || op == .mul || op == .sub) {
        let s = a.contiguous().pointer(as: Float.self).pointee
        let pb = b.pointer(as: Float.self)
        switch op {
        case .add: loom_affine_f32(pb, 1, s, o, Int64(n))
        case .mul: loom_affine_f32(pb, s, 0, o, Int64(n))
        default: loom_affine_f32(pb, -1, s, o, Int64(n))
        }
        return out
      }
      // [rows, cols] op [cols] and [rows, cols] op [rows, 1].
      if a.shape == outShape && a.isContiguous && outShape.count >= 1 {
        let cols = outShape[outShape.count - 1]
        let rows = n / max(cols, 1)
        let bDims = Array(b.shape.drop(while: { $0 == 1 }))
        if bDims == [cols] || (b.count == cols && b.shape.last == cols) {
          let bc = b.contiguous()
          loom_rowwise_f32(op.rawValue, a.pointer(as: Float.self), bc.pointer(as: Float.self), o, Int64(rows), Int64(cols))
          return out
        }
        if b.shape.count == outShape.count && b.shape.last == 1
          && Array(b.shape.dropLast()) == Array(outShape.dropLast())
        {
          let bc = b.contiguous()
          loom_colwise_f32(op.rawValue, a.pointer(as: Float.self), bc.pointer(as: Float.self), o, Int64(rows), Int64(cols))
          return out
        }
      }
      // General broadcast: materialise both operands densely.
      let ad = a.expand(outShape).contiguous(), bd = b.expand(outShape).contiguous()
      return binary(op, ad, bd)
    }
    let ad = a.expand(outShape).contiguous(), bd = b.expand(outShape).contiguous()
    switch dtype {
    case .float64: loop(op, ad.pointer(as: Double.self), bd.pointer(as: Double.self), out.pointer(as: Double.self), n)
    case .float32: loop(op, ad.pointer(as: Float.self), bd.pointer(as: Float.self), out.pointer(as: Float.self), n)
    default:
      let x = Cast.readDoubles(ad.rawPointer, dtype: dtype, count: n)
      let y = Cast.readDoubles(bd.rawPointer, dtype: dtype, count: n)
      var r = [Double](repeating: 0, count: n)
      x.withUnsafeBufferPointer { px in
        y.withUnsafeBufferPointer { py in
          r.withUnsafeMutableBufferPointer { pr in
            loop(op, UnsafeMutablePointer(mutating: px.baseAddress!), UnsafeMutablePointer(mutating: py.baseAddress!), pr.baseAddress!, n)
          }
        }
      }
      if !dtype.isFloatingPoint && op == .div {
        for i in 0..<n { r[i] = r[i].rounded(.towardZero) }
      }
      Cast.writeDoubles(r, out.rawPointer, dtype: dtype)
    }
    return out
  }

  @inline(__always)
  func loop<T: BinaryFloatingPoint>(
    _ op: BinaryOp, _ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>, _ o: UnsafeMutablePointer<T>, _ n: Int
  ) {
    switch op {
    case .add: for i in 0..<n { o[i] = a[i] + b[i] }
    case .sub: for i in 0..<n { o[i] = a[i] - b[i] }
    case .mul: for i in 0..<n { o[i] = a[i] * b[i] }
    case .div: for i in 0..<n { o[i] = a[i] / b[i] }
    case .maximum: for i in 0..<n { o[i] = a[i].isNaN || b[i].isNaN ? .nan : Swift.max(a[i], b[i]) }
    case .minimum: for i in 0..<n { o[i] = a[i].isNaN || b[i].isNaN ? .nan : Swift.min(a[i], b[i]) }
    case .pow: for i in 0..<n { o[i] = T(Foundation.pow(Double(a[i]), Double(b[i]))) }
    }
  }

  /// y = f(x); no autograd.
  public func unary(_ op: UnaryOp, _ x0: Tensor) -> Tensor {
    if x0.dtype.isHalf { return unary(op, x0.detach().to(.float32)).to(x0.dtype) }
    let x = (x0.dtype.isComputeType ? x0 : x0.to(.float32)).detach().contiguous()
    let out = Tensor(cpu: x.shape, dtype: x.dtype)
    let n = x.count
    if n == 0 { return out }
    if x.dtype == .float32 && op.rawValue < 100 {
      loom_unary_f32(op.rawValue, x.pointer(as: Float.self), out.pointer(as: Float.self), Int64(n))
      return out
    }
    if x.dtype == .float32 {
      unaryLoop(op, x.pointer(as: Float.self), out.pointer(as: Float.self), n)
    } else {
      unaryLoop(op, x.pointer(as: Double.self), out.pointer(as: Double.self), n)
    }
    return out
  }

  func unaryLoop<T: BinaryFloatingPoint>(
    _ op: UnaryOp, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int
  ) {
    for i in 0..<n {
      let v = Double(x[i])
      let r: Double
      switch op {
      case .exp: r = Foundation.exp(v)
      case .log: r = Foundation.log(v)
      case .sqrt: r = v.squareRoot()
      case .rsqrt: r = 1 / v.squareRoot()
      case .tanh: r = Foundation.tanh(v)
      case .sigmoid: r = 1 / (1 + Foundation.exp(-v))
      case .relu: r = v > 0 ? v : 0
      case .geluErf: r = 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot()))
      case .geluTanh:
        r = 0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
      case .silu: r = v / (1 + Foundation.exp(-v))
      case .neg: r = -v
      case .abs: r = Swift.abs(v)
      case .square: r = v * v
      case .reciprocal: r = 1 / v
      case .sin: r = Foundation.sin(v)
      case .cos: r = Foundation.cos(v)
      case .erf: r = Foundation.erf(v)
      case .sign: r = v > 0 ? 1 : (v < 0 ? -1 : 0)
      }
      y[i] = T(r)
    }
  }

  /// Comparison producing a bool tensor. op: 0 <, 1 <=, 2 >, 3 >=, 4 ==, 5 !=.
  public func compare(_ op: ComparisonOp, _ a0: Tensor, _ b0: Tensor) -> Tensor {
    let dtype = promoted(a0.dtype, b0.dtype)
    let outShape = validate { try Shape.broadcast(a0.shape, b0.shape, op: "compare") }
    let a = a0.to(dtype).detach().expand(outShape).contiguous()
    let b = b0.to(dtype).detach().expand(outShape).contiguous()
    let n = Shape.count(outShape)
    let out = Tensor(cpu: outShape, dtype: .bool)
    let o = out.pointer(as: Bool.self)
    func run<T: Comparable>(_ pa: UnsafeMutablePointer<T>, _ pb: UnsafeMutablePointer<T>) {
      switch op {
      case .less: for i in 0..<n { o[i] = pa[i] < pb[i] }
      case .lessEqual: for i in 0..<n { o[i] = pa[i] <= pb[i] }
      case .greater: for i in 0..<n { o[i] = pa[i] > pb[i] }
      case .greaterEqual: for i in 0..<n { o[i] = pa[i] >= pb[i] }
      case .equal: for i in 0..<n { o[i] = pa[i] == pb[i] }
      case .notEqual: for i in 0..<n { o[i] = pa[i] != pb[i] }
      }
    }
    switch dtype {
    case .float32: run(a.pointer(as: Float.self), b.pointer(as: Float.self))
    case .float64: run(a.pointer(as: Double.self), b.pointer(as: Double.self))
    case .int64: run(a.pointer(as: Int64.self), b.pointer(as: Int64.self))
    case .int32: run(a.pointer(as: Int32.self), b.pointer(as: Int32.self))
    case .uint8: run(a.pointer(as: UInt8.self), b.pointer(as: UInt8.self))
    case .bool:
      let pa = a.pointer(as: Bool.self), pb = b.pointer(as: Bool.self)
      for i in 0..<n { o[i] = op == .equal ? pa[i] == pb[i] : (op == .notEqual ? pa[i] != pb[i] : false) }
    default: fatalError("Loom: compare is not supported for \(dtype)")
    }
    return out
  }
}
