import Foundation
import LoomCore
import LoomNN

/// Rotary cos and sin tables [B, 1, T, head_dim / 2] for one forward pass, shared by every layer.
struct LlamaRotary {
  let cos: Tensor
  let sin: Tensor

  init(_ rotary: RotaryEmbedding, positions: Tensor, dtype: DType) {
    let (c, s) = rotary.cosSin(positions: positions, dtype: dtype)
    (cos, sin) = (c.unsqueeze(1), s.unsqueeze(1))
  }

  /// HF's x·cos + rotate_half(x)·sin on the halves of x [B, H, T, D].
  func apply(_ x: Tensor) -> Tensor {
    let half = x.shape[3] / 2
    let x1 = x.slice(dim: 3, start: 0, end: half)
    let x2 = x.slice(dim: 3, start: half, end: 2 * half)
    return Tensor.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim: 3)
  }
}

/// `LlamaAttention`: q/k/v/o projections, rotary positions, grouped-query attention
/// (num_key_value_heads K/V heads, each repeated for its group of query heads after the
/// cache, so the cache holds only the K/V heads).
public final class LlamaAttention: Module {
  @Child public var q_proj: Linear
  @Child public var k_proj: Linear
  @Child public var v_proj: Linear
  @Child public var o_proj: Linear
  let heads: Int
  let kvHeads: Int
  let headDim: Int
  let attentionDropout: Double

  init(_ config: LlamaConfig) {
    let (c, d) = (config.hiddenSize, config.headDimension)
    (heads, kvHeads, headDim) = (config.numAttentionHeads, config.keyValueHeads, d)
    q_proj = Linear(c, heads * d, bias: config.attentionBias)
    k_proj = Linear(c, kvHeads * d, bias: config.attentionBias)
    v_proj = Linear(c, kvHeads * d, bias: config.attentionBias)
    o_proj = Linear(heads * d, c, bias: config.attentionBias)
    attentionDropout = config.attentionDropout
    super.init()
  }

  func callAsFunction(_ x: Tensor, rotary: LlamaRotary, keyMask: Tensor?, cache: KVCache?) -> Tensor
  {
    let (b, t) = (x.shape[0], x.shape[1])
    let q = rotary.apply(q_proj(x).reshape([b, t, heads, headDim]).transpose(1, 2))
    var k = rotary.apply(k_proj(x).reshape([b, t, kvHeads, headDim]).transpose(1, 2))
    var v = v_proj(x).reshape([b, t, kvHeads, headDim]).transpose(1, 2)
    if let cache { (k, v) = cache.append(keys: k, values: v) }
    if kvHeads != heads { (k, v) = (repeatKV(k), repeatKV(v)) }
    let y = scaledDotProductAttention(
      q, k, v, mask: keyMask, isCausal: true, dropoutP: attentionDropout, training: training,
      scale: 1 / Double(headDim).squareRoot())
    return recordForward(o_proj(y.transpose(1, 2).reshape([b, t, heads * headDim])), inputs: [x])
  }

  /// HF's repeat_kv: [B, kv, T, D] → [B, kv · groups, T, D], each K/V head repeated in place.
  func repeatKV(_ x: Tensor) -> Tensor {
    let (b, t) = (x.shape[0], x.shape[2])
    return x.unsqueeze(2).expand([b, kvHeads, heads / kvHeads, t, headDim]).reshape([
      b, heads, t, headDim,
    ])
  }
}

/// `LlamaMLP`: down_proj(act(gate_proj(x)) · up_proj(x)); each projection is called as a
/// module so adapters that replace one (LoRA) take part.
public final class LlamaMLP: Module {
  @Child public var gate_proj: Linear
  @Child public var up_proj: Linear
  @Child public var down_proj: Linear
  let activation: Activation

  init(_ config: LlamaConfig) {
    let (c, i) = (config.hiddenSize, config.intermediateSize)
    gate_proj = Linear(c, i, bias: config.mlpBias)
    up_proj = Linear(c, i, bias: config.mlpBias)
    down_proj = Linear(i, c, bias: config.mlpBias)
    activation = config.hiddenAct
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    down_proj(activation(gate_proj(x)) * up_proj(x))
  }
}

/// `LlamaDecoderLayer`: pre-norm attention and MLP, each with a residual.
public final class LlamaDecoderLayer: Module {
  @Child public var self_attn: LlamaAttention
  @Child public var mlp: LlamaMLP
  @Child public var input_layernorm: RMSNorm
  @Child public var post_attention_layernorm: RMSNorm

  init(_ config: LlamaConfig) {
    self_attn = LlamaAttention(config)
    mlp = LlamaMLP(config)
    input_layernorm = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
    post_attention_layernorm = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
    super.init()
  }

  func callAsFunction(_ x: Tensor, rotary: LlamaRotary, keyMask: Tensor?, cache: KVCache?) -> Tensor
  {
    let h = x + self_attn(input_layernorm(x), rotary: rotary, keyMask: keyMask, cache: cache)
    return recordForward(h + mlp(post_attention_layernorm(h)), inputs: [x])
  }
}
