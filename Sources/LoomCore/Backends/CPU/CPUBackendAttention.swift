import CLoomKernels

extension CPUBackend {
  /// A [B, H, T, X] tensor laid out as [B, T, H, X] memory, so the usual
  /// `transpose(1, 2).reshape([B, T, H·X])` that follows attention needs no copy.
  func headsInterleaved(_ b: Int, _ h: Int, _ t: Int, _ x: Int) -> Tensor {
    Tensor(cpu: [b, t, h, x]).transpose(1, 2).detach()
  }

  func attentionView(_ t: Tensor) -> loom_attn_view {
    loom_attn_view(
      data: t.pointer(as: Float.self), stride_b: Int64(t.strides[0]), stride_h: Int64(t.strides[1]),
      stride_t: Int64(t.strides[2]))
  }

  func attentionArgs(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, _ o: Tensor, _ lse: Tensor, _ keyMask: Tensor?, _ isCausal: Bool,
    _ scale: Double, _ dropout: AttentionDropout
  ) -> loom_attn_args {
    loom_attn_args(
      batch: Int64(q.shape[0]), heads: Int64(q.shape[1]), tq: Int64(q.shape[2]), tk: Int64(k.shape[2]),
      d: Int64(q.shape[3]), dv: Int64(v.shape[3]), q: attentionView(q), k: attentionView(k), v: attentionView(v),
      o: attentionView(o), lse: lse.pointer(as: Float.self), scale: Float(scale), causal: isCausal ? 1 : 0,
      key_mask: keyMask.map { UnsafePointer($0.pointer(as: UInt8.self)) }, key_mask_stride_b: Int64(k.shape[2]),
      dropout_p: Float(dropout.p), seed: dropout.seed)
  }

  func denseLastDim(_ t: Tensor) -> Tensor { t.strides[3] == 1 ? t : t.contiguous() }

  public func attention(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, keyMask: Tensor?, isCausal: Bool, scale: Double, dropout: AttentionDropout
  ) -> (output: Tensor, logSumExp: Tensor)?
  {
    let (qd, kd, vd) = (denseLastDim(q), denseLastDim(k), denseLastDim(v))
    let mask = keyMask?.to(.uint8).contiguous()
    let (b, h, tq) = (q.shape[0], q.shape[1], q.shape[2])
    let out = headsInterleaved(b, h, tq, v.shape[3])
    let lse = Tensor(cpu: [b, h, tq])
    var args = attentionArgs(qd, kd, vd, out, lse, mask, isCausal, scale, dropout)
    withExtendedLifetime((qd, kd, vd, mask)) { loom_attention_forward_f32(&args) }
    return (out, lse)
  }

  public func attentionBackward(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, output: Tensor, logSumExp: Tensor, gradOutput: Tensor, keyMask: Tensor?,
    isCausal: Bool, scale: Double, dropout: AttentionDropout
  ) -> (q: Tensor, k: Tensor, v: Tensor) {
    let (qd, kd, vd, od, gd) = (denseLastDim(q), denseLastDim(k), denseLastDim(v), denseLastDim(output), denseLastDim(gradOutput))
    let mask = keyMask?.to(.uint8).contiguous()
    let (b, h, tq, tk) = (q.shape[0], q.shape[1], q.shape[2], k.shape[2])
    let dq = headsInterleaved(b, h, tq, q.shape[3]), dk = headsInterleaved(b, h, tk, k.shape[3])
    let dv = headsInterleaved(b, h, tk, v.shape[3])
    var args = attentionArgs(qd, kd, vd, od, logSumExp, mask, isCausal, scale, dropout)
    withExtendedLifetime((qd, kd, vd, od, gd, mask)) {
      loom_attention_backward_f32(&args, attentionView(gd), attentionView(dq), attentionView(dk), attentionView(dv))
    }
    return (dq, dk, dv)
  }
}

/// Dropout inside fused attention: probability and the seed of its hashed mask.
public struct AttentionDropout: Sendable {
  public let p: Double
  public let seed: UInt64
  public init(p: Double, seed: UInt64) {
    self.p = p
    self.seed = seed
  }

  /// The multiplier (0 or 1/(1-p)) at (batch, head, query, key) — the kernel's mask.
  public func scale(batch: Int, head: Int, heads: Int, query: Int, queries: Int, key: Int, keys: Int) -> Float {
    loom_attention_dropout_scale(seed, Float(p), Int64(batch), Int64(head), Int64(heads), Int64(query), Int64(queries), Int64(key), Int64(keys))
  }
}
