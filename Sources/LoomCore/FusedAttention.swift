/// The fused kernel handles float32 rank-4 [B, H, T, D] inputs, causal or not, with no
/// mask or a boolean key-padding mask broadcast as [B, 1, 1, Tk], and no dropout; other
/// cases use the composite definition.
func fusedAttention(
  _ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, isCausal: Bool, dropoutP: Double, scale: Double,
  generator: Generator
) -> Tensor? {
  guard q.dtype == .float32, k.dtype == .float32, v.dtype == .float32, q.rank == 4, dropoutP < 1 else { return nil }
  let (b, h, tq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
  let (tk, dv) = (k.shape[2], v.shape[3])
  guard k.shape == [b, h, tk, d], v.shape == [b, h, tk, dv], tq > 0, tk > 0 else { return nil }
  var keyMask: Tensor? = nil
  if let mask {
    guard mask.dtype == .bool, mask.rank == 4, mask.shape[1] == 1, mask.shape[2] == 1, mask.shape[3] == tk,
      mask.shape[0] == b || mask.shape[0] == 1
    else { return nil }
    keyMask = mask.detach().reshape([mask.shape[0], tk]).expand([b, tk]).contiguous()
  }
  let (qd, kd, vd) = (q.detach(), k.detach(), v.detach())
  let dropout = AttentionDropout(p: dropoutP, seed: dropoutP > 0 ? generator.next() : 0)
  guard let (out, lse) = q.backend.attention(qd, kd, vd, keyMask: keyMask, isCausal: isCausal, scale: scale, dropout: dropout)
  else { return nil }
  return out.recorded("ScaledDotProductFlashAttentionBackward", inputs: [q, k, v]) { g, o in
    if GradMode.isEnabled {
      precondition(dropoutP == 0, "Loom: second-order gradients through attention dropout are not supported")
      return compositeGradients(inputs: [q, k, v], gradOutput: g) { ins in
        compositeAttention(
          ins[0]!, ins[1]!, ins[2]!, mask: mask, isCausal: isCausal, dropoutP: 0, training: false, scale: scale,
          generator: .global)
      }
    }
    let r = qd.backend.attentionBackward(
      qd, kd, vd, output: o.detach(), logSumExp: lse, gradOutput: g, keyMask: keyMask, isCausal: isCausal, scale: scale,
      dropout: dropout)
    return [r.q, r.k, r.v]
  }
}

