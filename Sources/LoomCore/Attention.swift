/// Scaled dot-product attention (PyTorch's `F.scaled_dot_product_attention`).
/// q: [..., Tq, D], k: [..., Tk, D], v: [..., Tk, Dv]. `mask` is either bool (true =
/// attend) or additive float, broadcast to [..., Tq, Tk]; `isCausal` masks future keys.
public func scaledDotProductAttention(
  _ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor? = nil, isCausal: Bool = false,
  dropoutP: Double = 0, training: Bool = true, scale: Double? = nil, generator: Generator = .global
) -> Tensor {
  guard q.rank >= 2, k.rank == q.rank, v.rank == q.rank, q.shape.last == k.shape.last,
    k.shape[k.rank - 2] == v.shape[v.rank - 2]
  else {
    opFailure(LoomError("scaledDotProductAttention: incompatible shapes q \(q.shape), k \(k.shape), v \(v.shape)"))
  }
  if Autocast.isEnabled {
    return Autocast.lowerPrecision([q, k, v]) { t in
      scaledDotProductAttention(
        t[0], t[1], t[2], mask: mask, isCausal: isCausal, dropoutP: dropoutP, training: training, scale: scale,
        generator: generator)
    }
  }
  if q.dtype.isHalf, k.dtype == q.dtype, v.dtype == q.dtype {
    // Float32 scores and softmax (the flash kernel), the output rounded once.
    return computedInFloat32([q, k, v], as: q.dtype) { t in
      scaledDotProductAttention(
        t[0], t[1], t[2], mask: mask, isCausal: isCausal, dropoutP: dropoutP, training: training, scale: scale,
        generator: generator)
    }
  }
  let d = q.shape[q.rank - 1]
  let s = scale ?? 1 / Double(d).squareRoot()
  if let fused = fusedAttention(
    q, k, v, mask: mask, isCausal: isCausal, dropoutP: training ? dropoutP : 0, scale: s, generator: generator)
  {
    return fused
  }
  return compositeAttention(q, k, v, mask: mask, isCausal: isCausal, dropoutP: dropoutP, training: training, scale: s, generator: generator)
}

/// Attention from primitive ops (float64, dropout, general masks, second order).
func compositeAttention(
  _ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, isCausal: Bool, dropoutP: Double, training: Bool,
  scale s: Double, generator: Generator
) -> Tensor {
  let tq = q.shape[q.rank - 2], tk = k.shape[k.rank - 2]
  var scores = q.matmul(k.transpose(-2, -1)) * s
  if isCausal {
    let keep = Tensor.triangleMask(rows: tq, cols: tk, diagonal: tk - tq, lower: true, device: q.device)
    scores = scores.maskedFill(keep.logicalNot(), value: -.infinity)
  }
  if let mask {
    if mask.dtype == .bool {
      scores = scores.maskedFill(mask.logicalNot(), value: -.infinity)
    } else {
      scores = scores + mask
    }
  }
  var p = scores.softmax(dim: -1)
  if dropoutP > 0 && training { p = dropout(p, p: dropoutP, generator: generator) }
  return p.matmul(v)
}

extension Tensor {
  /// Elementwise NOT of a bool tensor.
  public func logicalNot() -> Tensor {
    to(.bool).to(.float32).detach() == 0
  }

  public func logicalAnd(_ other: Tensor) -> Tensor {
    let shape = validate { try Shape.broadcast(self.shape, other.shape, op: "logicalAnd") }
    let a = to(.bool).to(.float32).detach(), b = other.to(.bool).to(.float32).detach()
    return (a * b).expand(shape) != 0
  }
}
