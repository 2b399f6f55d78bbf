import LoomCore
import LoomNN

/// Bidirectional self-attention over separate q/k/v Linear layers (HF's names) with
/// the fused attention kernel and a key-padding mask.
public enum EncoderAttention {
  /// Concatenate the q/k/v weights into one [3C, C] GEMM per call instead of three. Off: on a
  /// wolfBERTa-sized training step (batch 8 × 128) the weight copy and its backward ate the gain
  /// (median 5.6 s fused vs 5.1 s separate, 2-core host under load), and for MiniLM embeddings
  /// (no autograd) it was 2–3 % faster under load but 2.5 % slower on the quiet machine (paired).
  nonisolated(unsafe) public static var fuseProjections = false

  /// Whether q, k and v can run as one GEMM: plain `Linear`s with biases (a replaced module such
  /// as a LoRA layer, or a forward hook, must see its own forward).
  static func canFuse(_ q: Linear, _ k: Linear, _ v: Linear) -> Bool {
    fuseProjections && !ForwardHooks.isActive && type(of: q) == Linear.self
      && type(of: k) == Linear.self && type(of: v) == Linear.self && q.bias != nil && k.bias != nil
      && v.bias != nil
  }

  /// x [B, S, C], keyMask [B, 1, 1, S] (true = attend) → context [B, S, C] before the output projection.
  static func selfAttention(
    _ x: Tensor, q query: Linear, k key: Linear, v value: Linear, heads: Int, keyMask: Tensor?, dropoutP: Double,
    training: Bool
  ) -> Tensor {
    let (b, s, c) = (x.shape[0], x.shape[1], x.shape[2])
    let d = c / heads
    var q: Tensor, k: Tensor, v: Tensor
    if canFuse(query, key, value), let qb = query.bias, let kb = key.bias, let vb = value.bias {
      let w = Tensor.cat([query.weight, key.weight, value.weight], dim: 0)
      let bias = Tensor.cat([qb, kb, vb], dim: 0)
      let qkv = linear(x, weight: w, bias: bias).reshape([b, s, 3, heads, d])
      // [B, S, 3, H, D] → three [B, H, S, D] views (no copies).
      q = qkv.select(dim: 2, index: 0).transpose(1, 2)
      k = qkv.select(dim: 2, index: 1).transpose(1, 2)
      v = qkv.select(dim: 2, index: 2).transpose(1, 2)
    } else {
      q = query(x).reshape([b, s, heads, d]).transpose(1, 2)
      k = key(x).reshape([b, s, heads, d]).transpose(1, 2)
      v = value(x).reshape([b, s, heads, d]).transpose(1, 2)
    }
    q = q.contiguousIfNeeded()
    let y = scaledDotProductAttention(q, k, v, mask: keyMask, dropoutP: dropoutP, training: training)
    return y.transpose(1, 2).reshape([b, s, c])
  }
}
