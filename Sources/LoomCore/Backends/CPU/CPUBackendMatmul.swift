import CLoomKernels
#if canImport(Accelerate)
  import Accelerate
#else
  import CBLAS
#endif

/// Matrix products on the CPU through CBLAS and the C GEMM engines.
extension CPUBackend {
  public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, weightIsInputMajor: Bool) -> Tensor {
    let n = x.shape[0], k = x.shape[1], m = weight.shape[weightIsInputMajor ? 1 : 0]
    let out = Tensor(cpu: [n, m], dtype: x.dtype)
    if n == 0 || m == 0 { return out }
    var beta = 0.0
    if let bias {
      // Every row starts as the bias; the GEMM accumulates onto it.
      copy(bias.reshape([1, m]).expand([n, m]), into: out)
      beta = 1
    }
    let a = gemmOperand(x), w = gemmOperand(weightIsInputMajor ? weight : weight.transpose(0, 1))
    gemm(a, 0, w, 0, out, 0, m: n, n: m, k: k, beta: beta)
    return out
  }
}
extension CPUBackend {
  /// How a matrix view is handed to CBLAS without copying, if possible.
  struct GemmOperand {
    let tensor: Tensor
    let transposed: Bool
    let ld: Int
  }

  /// Interprets the last two dims of `t` as a matrix CBLAS can read in place.
  func gemmOperand(_ t: Tensor) -> GemmOperand {
    let r = t.rank
    let rows = t.shape[r - 2], cols = t.shape[r - 1]
    let sr = t.strides[r - 2], sc = t.strides[r - 1]
    if (sc == 1 || cols == 1) && (sr >= Swift.max(cols, 1) || rows == 1) {
      return GemmOperand(tensor: t, transposed: false, ld: Swift.max(rows == 1 ? cols : sr, 1))
    }
    if (sr == 1 || rows == 1) && (sc >= Swift.max(rows, 1) || cols == 1) {
      return GemmOperand(tensor: t, transposed: true, ld: Swift.max(cols == 1 ? rows : sc, 1))
    }
    let c = t.contiguous()
    return GemmOperand(tensor: c, transposed: false, ld: Swift.max(cols, 1))
  }

  /// Half-type products run in one C call: bfloat16 in `loom_gemm_bf16` (oneDNN's AVX512-BF16 /
  /// AMX kernels where the CPU has them), float16 and bfloat16 elsewhere on float32 copies made a
  /// block of the weight at a time (no whole float32 weight while half-weight models run).
  public func hasNativeMatmul(for dtype: DType) -> Bool { true }

  /// C[M,N] = A[M,K] · B[K,N] for raw operands at element offsets.
  func gemm(
    _ a: GemmOperand, _ aOffset: Int, _ b: GemmOperand, _ bOffset: Int, _ out: Tensor, _ outOffset: Int,
    m: Int, n: Int, k: Int, beta: Double = 0
  ) {
    if out.dtype.isHalf {
      let gemmHalf = out.dtype == .bfloat16 ? loom_gemm_bf16 : loom_gemm_f16
      let done = gemmHalf(
        a.transposed ? 1 : 0, b.transposed ? 1 : 0, Int64(m), Int64(n), Int64(k),
        a.tensor.rawPointer.assumingMemoryBound(to: UInt16.self) + aOffset, Int64(a.ld), b.tensor.rawPointer.assumingMemoryBound(to: UInt16.self) + bOffset,
        Int64(b.ld), Float(beta), out.rawPointer + outOffset * 2,
        Int64(Swift.max(n, 1)), 1)
      if done == 0 { opFailure(LoomError("matmul: out of memory for a \(out.dtype) GEMM of \(m)×\(k)×\(n)")) }
      return
    }
    if m == 1 && n > 1 {
      // A row vector times a matrix (token-by-token generation): GEMV reads the matrix
      // once and skips GEMM's packing copies.
      gemv(a, aOffset, b, bOffset, out, outOffset, n: n, k: k, beta: beta)
      return
    }
    let ta = a.transposed ? CblasTrans : CblasNoTrans
    let tb = b.transposed ? CblasTrans : CblasNoTrans
    if out.dtype == .float32 {
      loom_sgemm(
        a.transposed ? 1 : 0, b.transposed ? 1 : 0, Int64(m), Int64(n), Int64(k), 1,
        a.tensor.pointer(as: Float.self) + aOffset, Int64(a.ld), b.tensor.pointer(as: Float.self) + bOffset, Int64(b.ld),
        Float(beta), out.pointer(as: Float.self) + outOffset, Int64(Swift.max(n, 1)))
    } else {
      loom_blas_serial()  // one pool: OpenBLAS never starts its own threads
      cblas_dgemm(
        CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), 1,
        a.tensor.pointer(as: Double.self) + aOffset, Int32(a.ld),
        b.tensor.pointer(as: Double.self) + bOffset, Int32(b.ld), beta,
        out.pointer(as: Double.self) + outOffset, Int32(Swift.max(n, 1)))
    }
  }

  /// out[1, N] = a[1, K] · B[K, N] with B as stored (transposed or not).
  func gemv(_ a: GemmOperand, _ aOffset: Int, _ b: GemmOperand, _ bOffset: Int, _ out: Tensor, _ outOffset: Int, n: Int, k: Int, beta: Double) {
    // The vector's stride: a row of a plain matrix is dense; a row of a transposed one steps by ld.
    let incx = Int32(a.transposed ? a.ld : 1)
    // y = Bᵀx for B stored [K, N]; y = B x for B stored transposed as [N, K].
    let trans = b.transposed ? CblasNoTrans : CblasTrans
    let rows = Int32(b.transposed ? n : k), cols = Int32(b.transposed ? k : n)
    if out.dtype == .float32 {
      loom_sgemv(
        b.transposed ? 0 : 1, Int64(rows), Int64(cols), 1, b.tensor.pointer(as: Float.self) + bOffset, Int64(b.ld),
        a.tensor.pointer(as: Float.self) + aOffset, Int64(incx), Float(beta), out.pointer(as: Float.self) + outOffset)
    } else {
      loom_blas_serial()
      cblas_dgemv(
        CblasRowMajor, trans, rows, cols, 1, b.tensor.pointer(as: Double.self) + bOffset, Int32(b.ld),
        a.tensor.pointer(as: Double.self) + aOffset, incx, beta, out.pointer(as: Double.self) + outOffset, 1)
    }
  }

  public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
    let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
    let batch = validate { try Shape.broadcast(batchA, batchB, op: "matmul") }
    let out = Tensor(cpu: batch + [m, n], dtype: a.dtype)
    if out.count == 0 { return out }
    if k == 0 {
      out.fill(0)
      return out
    }
    // Rows of a contiguous batch times one matrix: a single GEMM.
    if batchB.allSatisfy({ $0 == 1 }) && a.isContiguous && batch == batchA {
      let a2 = a.reshape([-1, k])
      let b2 = b.reshape([k, n])
      gemm(gemmOperand(a2), 0, gemmOperand(b2), 0, out, 0, m: a2.shape[0], n: n, k: k)
      return out
    }
    let ae = a.expand(batch + [m, k]), be = b.expand(batch + [k, n])
    let opA = gemmOperand(ae), opB = gemmOperand(be)
    let count = Shape.count(batch)
    let nb = batch.count
    var index = [Int](repeating: 0, count: nb)
    for i in 0..<count {
      var offA = 0, offB = 0
      for d in 0..<nb {
        offA += index[d] * opA.tensor.strides[d]
        offB += index[d] * opB.tensor.strides[d]
      }
      gemm(opA, offA, opB, offB, out, i * m * n, m: m, n: n, k: k)
      var d = nb - 1
      while d >= 0 {
        index[d] += 1
        if index[d] < batch[d] { break }
        index[d] = 0
        d -= 1
      }
    }
    return out
  }

}
