import Foundation
import LoomCore
import LoomNN

/// `BloomAttention`: a fused `query_key_value` Linear whose output [3·C] is laid out
/// [heads, 3, head_dim] (Megatron's order, not GPT-2's [3, heads, head_dim]), ALiBi biases,
/// causal and padding masks, and `dense`. HF's names, plain `Linear` children (adapters wrap them).
public final class BloomAttention: Module {
  @Child public var query_key_value: Linear
  @Child public var dense: Linear
  let heads: Int
  let headDim: Int
  let scale: Double
  let attentionDropout: Double
  let hiddenDropout: Double

  init(_ config: BloomConfig) {
    let c = config.hiddenSize
    query_key_value = Linear(c, 3 * c)
    dense = Linear(c, c)
    heads = config.nHead
    headDim = config.headDim
    scale = 1 / Double(config.headDim).squareRoot()
    attentionDropout = config.attentionDropout
    hiddenDropout = config.hiddenDropout
    super.init()
  }

  /// dropout(dense(attention(x))) + residual.
  func callAsFunction(
    _ x: Tensor, residual: Tensor, alibi: Alibi.Columns, keyMask: Tensor?, cache: KVCache?
  ) -> Tensor {
    let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let qkv = query_key_value(x).reshape([b, t, heads, 3, headDim])
    // [B, T, H, 3, D] → three [B, H, T, D] views, each with one ALiBi column appended.
    let q = Tensor.cat([qkv.select(dim: 3, index: 0).transpose(1, 2), alibi.query], dim: 3)
    var k = Tensor.cat([qkv.select(dim: 3, index: 1).transpose(1, 2), alibi.key], dim: 3)
    var v = qkv.select(dim: 3, index: 2).transpose(1, 2)
    // The cache keeps keys with their position column: old positions never change.
    if let cache { (k, v) = cache.append(keys: k, values: v) }
    let y = scaledDotProductAttention(
      q, k, v, mask: keyMask, isCausal: true, dropoutP: attentionDropout, training: training,
      scale: scale)
    let merged = y.transpose(1, 2).reshape([b, t, c])
    return recordForward(
      dropout(dense(merged), p: hiddenDropout, training: training) + residual, inputs: [x])
  }
}

/// `BloomMLP`: dense_h_to_4h, BLOOM's tanh GELU (`bloom_gelu`, GPT-2's gelu_new formula),
/// dense_4h_to_h, dropout, plus the residual.
public final class BloomMLP: Module {
  @Child public var dense_h_to_4h: Linear
  @Child public var dense_4h_to_h: Linear
  let hiddenDropout: Double

  init(_ config: BloomConfig) {
    dense_h_to_4h = Linear(config.hiddenSize, 4 * config.hiddenSize)
    dense_4h_to_h = Linear(4 * config.hiddenSize, config.hiddenSize)
    hiddenDropout = config.hiddenDropout
    super.init()
  }

  func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
    dropout(
      dense_4h_to_h(Activation.geluNew(dense_h_to_4h(x))), p: hiddenDropout, training: training)
      + residual
  }
}

/// `BloomBlock`: pre-LN attention and MLP; with apply_residual_connection_post_layernorm
/// the residual is each norm's output instead of its input.
public final class BloomBlock: Module {
  @Child public var input_layernorm: LayerNorm
  @Child public var self_attention: BloomAttention
  @Child public var post_attention_layernorm: LayerNorm
  @Child public var mlp: BloomMLP
  let postLayernormResidual: Bool

  init(_ config: BloomConfig) {
    input_layernorm = LayerNorm(config.hiddenSize, eps: config.layerNormEpsilon)
    self_attention = BloomAttention(config)
    post_attention_layernorm = LayerNorm(config.hiddenSize, eps: config.layerNormEpsilon)
    mlp = BloomMLP(config)
    postLayernormResidual = config.applyResidualConnectionPostLayernorm
    super.init()
  }

  func callAsFunction(_ x: Tensor, alibi: Alibi.Columns, keyMask: Tensor?, cache: KVCache?)
    -> Tensor
  {
    let ln1 = input_layernorm(x)
    let h = self_attention(
      ln1, residual: postLayernormResidual ? ln1 : x, alibi: alibi, keyMask: keyMask, cache: cache)
    let ln2 = post_attention_layernorm(h)
    return recordForward(mlp(ln2, residual: postLayernormResidual ? ln2 : h), inputs: [x])
  }
}
