/// Matrix products through CBLAS. Transposed views are passed with CBLAS's transpose
/// flags instead of being copied, and a batch of rows times one matrix becomes a
/// single GEMM.
extension Tensor {
  /// Matrix product with PyTorch's `matmul` rules (1-D operands, broadcast batch dims).
  public func matmul(_ other: Tensor) -> Tensor {
    if Autocast.isEnabled { return Autocast.lowerPrecision([self, other]) { $0[0].matmul($0[1]) } }
    if rank == 1 && other.rank == 1 { return (self * other).sum() }
    if rank == 1 { return unsqueeze(0).matmul(other).squeeze(-2) }
    if other.rank == 1 { return matmul(other.unsqueeze(1)).squeeze(-1) }
    guard dtype == other.dtype, dtype.isFloatingPoint else {
      opFailure(LoomError("matmul: operands must both be float32, float64, bfloat16 or float16, got \(dtype) and \(other.dtype) (cast one with .to(_:), or run under Autocast)"))
    }
    if !backend.hasNativeMatmul(for: dtype) {
      return computedInFloat32([self, other], as: dtype) { $0[0].matmul($0[1]) }
    }
    let k = shape[rank - 1]
    let k2 = other.shape[other.rank - 2], n = other.shape[other.rank - 1]
    guard k == k2 else {
      opFailure(LoomError("matmul: shapes \(shape) and \(other.shape) are incompatible (inner dimensions \(k) and \(k2) differ)"))
    }
    let out = backend.matmul(self.detach(), other.detach())
    let (sa, sb) = (shape, other.shape)
    return out.recorded("MmBackward", inputs: [self, other]) { g, _ in
      var ga: Tensor? = nil
      var gb: Tensor? = nil
      if self.requiresGrad { ga = g.matmul(other.transpose(-1, -2)).sum(toShape: sa) }
      if other.requiresGrad {
        if other.rank == 2 {
          // Fold the batch into rows: one GEMM instead of a batch and a sum.
          let a2 = self.reshape([-1, k]), g2 = g.reshape([-1, n])
          gb = a2.transpose(0, 1).matmul(g2)
        } else {
          gb = self.transpose(-1, -2).matmul(g).sum(toShape: sb)
        }
      }
      return [ga, gb]
    }
  }

  /// Batched matrix product of [B, M, K] and [B, K, N].
  public func bmm(_ other: Tensor) -> Tensor {
    guard rank == 3, other.rank == 3, shape[0] == other.shape[0] else {
      opFailure(LoomError("bmm: expected [B, M, K] and [B, K, N], got \(shape) and \(other.shape)"))
    }
    return matmul(other)
  }
}

/// y = x · wᵀ + b (PyTorch's `F.linear`; w is [out, in]). One GEMM forward (the bias
/// is written first and accumulated into), and backward produces the weight gradient
/// directly in w's layout.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
  affine(x, weight: weight, bias: bias, inputMajor: false, op: "linear")
}

/// y = x · w + b with w [in, out]: Hugging Face's `Conv1D` (GPT-2) and `torch.addmm`.
public func addmm(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
  affine(x, weight: weight, bias: bias, inputMajor: true, op: "addmm")
}

func affine(_ x: Tensor, weight: Tensor, bias: Tensor?, inputMajor: Bool, op: String) -> Tensor {
  let operands: [Tensor] = bias.map { [x, weight, $0] } ?? [x, weight]
  if Autocast.isEnabled {
    return Autocast.lowerPrecision(operands) { t in
      affine(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, inputMajor: inputMajor, op: op)
    }
  }
  let inF = weight.rank == 2 ? weight.shape[inputMajor ? 0 : 1] : -1
  let outF = weight.rank == 2 ? weight.shape[inputMajor ? 1 : 0] : -1
  guard weight.rank == 2, x.rank >= 1, x.shape.last == inF else {
    opFailure(LoomError("\(op): input shape \(x.shape) does not match weight shape \(weight.shape) (expected input [..., \(inF)])"))
  }
  if let bias, bias.shape != [outF] {
    opFailure(LoomError("\(op): bias shape \(bias.shape) does not match weight shape \(weight.shape) (expected [\(outF)])"))
  }
  guard x.dtype == weight.dtype, x.dtype.isFloatingPoint else {
    opFailure(LoomError("\(op): input dtype \(x.dtype) and weight dtype \(weight.dtype) must match (float32, float64, bfloat16 or float16; cast with .to(_:) or run under Autocast)"))
  }
  if !x.backend.hasNativeMatmul(for: x.dtype) {
    return computedInFloat32(operands, as: x.dtype) { t in
      affine(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, inputMajor: inputMajor, op: op)
    }
  }
  let lead = Array(x.shape.dropLast())
  let x2 = x.detach().reshape([-1, inF])
  let y = x.backend.linear(x2, weight: weight.detach(), bias: bias?.detach(), weightIsInputMajor: inputMajor)
    .reshape(lead + [outF])
  var inputs = [x, weight]
  if let bias { inputs.append(bias) }
  return y.recorded("AddmmBackward", inputs: inputs) { g, _ in
    let g2 = g.reshape([-1, outF])
    if GradMode.isEnabled {
      // Differentiable form for higher-order gradients.
      let xs = x.reshape([-1, inF])
      let gx = (inputMajor ? g2.matmul(weight.transpose(0, 1)) : g2.matmul(weight)).reshape(x.shape)
      let gw = inputMajor ? xs.transpose(0, 1).matmul(g2) : g2.transpose(0, 1).matmul(xs)
      return [gx, gw, bias == nil ? nil : g2.sum(dim: 0)]
    }
    let w = weight.detach()
    let gx = x.requiresGrad ? (inputMajor ? g2.matmul(w.transpose(0, 1)) : g2.matmul(w)).reshape(x.shape) : nil
    let gw = weight.requiresGrad ? (inputMajor ? x2.transpose(0, 1).matmul(g2) : g2.transpose(0, 1).matmul(x2)) : nil
    let gb = (bias?.requiresGrad ?? false) ? g2.sum(dim: 0) : nil
    return bias == nil ? [gx, gw] : [gx, gw, gb]
  }
}

