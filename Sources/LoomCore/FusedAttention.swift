import CLoomKernels

/// The flash-style kernel handles float32 rank-4 [B, H, T, D] inputs whose last dim is
/// dense, causal or not, with no mask or a boolean key-padding mask broadcast as
/// [B, 1, 1, Tk], and no dropout; other cases use the composite definition.
func fusedAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, isCausal: Bool, dropoutP: Double, scale: Double)
  -> Tensor?
{
  guard q.dtype == .float32, k.dtype == .float32, v.dtype == .float32, q.rank == 4, dropoutP == 0 else { return nil }
  let (b, h, tq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
  let (tk, dv) = (k.shape[2], v.shape[3])
  guard k.shape == [b, h, tk, d], v.shape == [b, h, tk, dv], tq > 0, tk > 0 else { return nil }
  var keyMask: Tensor? = nil
  if let mask {
    guard mask.dtype == .bool, mask.rank == 4, mask.shape[1] == 1, mask.shape[2] == 1, mask.shape[3] == tk,
      mask.shape[0] == b || mask.shape[0] == 1
    else { return nil }
    keyMask = mask.reshape([mask.shape[0], tk]).expand([b, tk]).contiguous().to(.uint8)
  }
  func dense(_ t: Tensor) -> Tensor { t.strides[3] == 1 ? t : t.contiguous() }
  let qd = dense(q.detach()), kd = dense(k.detach()), vd = dense(v.detach())

  /// A [B, H, T, X] tensor laid out as [B, T, H, X] memory (so transpose(1, 2) is dense).
  func headsInterleaved(_ t: Int, _ x: Int) -> Tensor {
    let base = Tensor(empty: [b, t, h, x])
    return base.transpose(1, 2).detach()
  }
  func view(_ t: Tensor) -> loom_attn_view {
    loom_attn_view(data: t.pointer(as: Float.self), stride_b: Int64(t.strides[0]), stride_h: Int64(t.strides[1]), stride_t: Int64(t.strides[2]))
  }
  let out = headsInterleaved(tq, dv)
  let lse = Tensor(empty: [b, h, tq])
  var args = loom_attn_args(
    batch: Int64(b), heads: Int64(h), tq: Int64(tq), tk: Int64(tk), d: Int64(d), dv: Int64(dv),
    q: view(qd), k: view(kd), v: view(vd), o: view(out), lse: lse.pointer(as: Float.self), scale: Float(scale),
    causal: isCausal ? 1 : 0, key_mask: keyMask.map { UnsafePointer($0.pointer(as: UInt8.self)) },
    key_mask_stride_b: Int64(tk))
  loom_attention_forward_f32(&args)
  return out.recorded("ScaledDotProductFlashAttentionBackward", inputs: [q, k, v]) { g, o in
    if GradMode.isEnabled {
      return compositeGradients(inputs: [q, k, v], gradOutput: g) { ins in
        compositeAttention(ins[0]!, ins[1]!, ins[2]!, mask: mask, isCausal: isCausal, dropoutP: 0, training: false, scale: scale, generator: .global)
      }
    }
    let gd = g.strides[3] == 1 ? g : g.contiguous()
    let dq = headsInterleaved(tq, d), dk = headsInterleaved(tk, d), dvT = headsInterleaved(tk, dv)
    var a = args
    a.o = view(o.detach())
    withExtendedLifetime((qd, kd, vd, lse, keyMask)) {
      loom_attention_backward_f32(&a, view(gd), view(dq), view(dk), view(dvT))
    }
    return [dq, dk, dvT]
  }
}
