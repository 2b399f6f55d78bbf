import Foundation
import LoomCore
import LoomNN

/// `T5LayerNorm`: RMS normalisation (no mean subtracted, no bias), scaled by `weight`.
/// In float32 it is one fused op; other dtypes take the variance in float32 and return
/// the weight's dtype, as HF does for half-precision checkpoints.
public final class T5LayerNorm: Module {
  @Parameter public var weight: Tensor
  public let eps: Double

  public init(_ dimension: Int, eps: Double = 1e-6) {
    weight = Init.ones([dimension])
    self.eps = eps
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    if x.dtype == .float32, weight.dtype == .float32 { return rmsNorm(x, weight: weight, eps: eps) }
    return rmsNorm(x.to(.float32), weight: nil, eps: eps).to(weight.dtype) * weight
  }
}

/// `T5DenseActDense`: wo(dropout(act(wi(x)))), no biases (T5's relu feed-forward).
public final class T5DenseActDense: Module {
  @Child public var wi: Linear
  @Child public var wo: Linear
  let act: Activation
  let dropoutP: Double

  public init(_ config: T5Config) throws {
    wi = Linear(config.dModel, config.dFf, bias: false)
    wo = Linear(config.dFf, config.dModel, bias: false)
    act = try config.activation()
    dropoutP = config.dropoutRate
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    wo(dropout(act(wi(x)), p: dropoutP, training: training))
  }
}

/// `T5DenseGatedActDense`: wo(dropout(act(wi_0(x)) · wi_1(x))) (T5 v1.1's gated-gelu uses gelu_new).
public final class T5DenseGatedActDense: Module {
  @Child public var wi_0: Linear
  @Child public var wi_1: Linear
  @Child public var wo: Linear
  let act: Activation
  let dropoutP: Double

  public init(_ config: T5Config) throws {
    wi_0 = Linear(config.dModel, config.dFf, bias: false)
    wi_1 = Linear(config.dModel, config.dFf, bias: false)
    wo = Linear(config.dFf, config.dModel, bias: false)
    act = try config.activation()
    dropoutP = config.dropoutRate
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    wo(dropout(act(wi_0(x)) * wi_1(x), p: dropoutP, training: training))
  }
}

/// `T5LayerFF`: x + dropout(ff(layer_norm(x))). The feed-forward is any module under
/// `DenseReluDense` (HF's name for both dense kinds), so sparse variants can replace it.
public final class T5LayerFF: Module {
  @Child public var DenseReluDense: Module
  @Child public var layer_norm: T5LayerNorm
  let dropoutP: Double

  public init(_ config: T5Config, feedForward: Module? = nil) throws {
    if let feedForward {
      DenseReluDense = feedForward
    } else if config.isGatedAct {
      DenseReluDense = try T5DenseGatedActDense(config)
    } else {
      DenseReluDense = try T5DenseActDense(config)
    }
    layer_norm = T5LayerNorm(config.dModel, eps: config.layerNormEpsilon)
    dropoutP = config.dropoutRate
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    x + dropout(DenseReluDense(layer_norm(x)), p: dropoutP, training: training)
  }
}

/// A whole feed-forward layer (norm, feed-forward, residual) a T5Block takes as it is in
/// place of `T5LayerFF` (Switch's `SwitchTransformersLayerFF` names its slot `mlp`).
public protocol T5FeedForwardLayer: Module {}

/// `T5Attention`: q/k/v/o without biases, no 1/√d scaling, an additive bias (relative
/// positions and masks) on the scores. The first block's self-attention owns
/// `relative_attention_bias`; the stack computes the bias once and every block reuses it.
public final class T5Attention: Module {
  @Child public var q: Linear
  @Child public var k: Linear
  @Child public var v: Linear
  @Child public var o: Linear
  @Child public var relative_attention_bias: Embedding?
  let heads: Int
  let dKv: Int
  let isDecoder: Bool
  let numBuckets: Int
  let maxDistance: Int
  let dropoutP: Double

  public init(_ config: T5Config, isDecoder: Bool, hasRelativeAttentionBias: Bool) {
    let (c, inner) = (config.dModel, config.innerDim)
    q = Linear(c, inner, bias: false)
    k = Linear(c, inner, bias: false)
    v = Linear(c, inner, bias: false)
    o = Linear(inner, c, bias: false)
    relative_attention_bias =
      hasRelativeAttentionBias
      ? Embedding(config.relativeAttentionNumBuckets, config.numHeads) : nil
    heads = config.numHeads
    dKv = config.dKv
    self.isDecoder = isDecoder
    numBuckets = config.relativeAttentionNumBuckets
    maxDistance = config.relativeAttentionMaxDistance
    dropoutP = config.dropoutRate
    super.init()
  }

  /// HF's `_relative_position_bucket` for `relative` = key position − query position:
  /// half the buckets per direction in the encoder (the decoder sees only the past), exact
  /// offsets below a quarter (half) of them, logarithmic bins up to `maxDistance`. Float32
  /// arithmetic, as torch computes it, so boundaries fall in the same bucket.
  public static func bucket(_ relative: Int, bidirectional: Bool, numBuckets: Int, maxDistance: Int)
    -> Int
  {
    var (n, base, r) = (numBuckets, 0, relative)
    if bidirectional {
      n /= 2
      if r > 0 { base = n }
      r = abs(r)
    } else {
      r = -min(r, 0)
    }
    let maxExact = n / 2
    if r < maxExact { return base + r }
    let scale = Float(log(Double(maxDistance) / Double(maxExact)))
    let large = logf(Float(r) / Float(maxExact)) / scale * Float(n - maxExact)
    return base + min(maxExact + Int(large), n - 1)
  }

  /// The relative position bias [1, H, T, S] for queries at absolute positions
  /// past ..< past + T against keys 0 ..< S (cached decoding passes `past`).
  public func positionBias(queryLength t: Int, keyLength s: Int, past: Int) -> Tensor {
    guard let table = relative_attention_bias else {
      return Tensor.zeros([1, heads, t, s], device: q.weight.device)
    }
    var ids = [Int64](repeating: 0, count: t * s)
    for i in 0..<t {
      for j in 0..<s {
        ids[i * s + j] = Int64(
          Self.bucket(
            j - (i + past), bidirectional: !isDecoder, numBuckets: numBuckets,
            maxDistance: maxDistance))
      }
    }
    let values = table(Tensor(ids, shape: [t, s]).to(device: table.weight.device))
    return values.permute(2, 0, 1).unsqueeze(0)
  }

  /// `x` [B, T, C] attends to itself (or to `keyValue` [B, S, C]); `bias` is added to the
  /// scores (float) or selects keys (bool, true = attend). Caches as BART's attention does.
  func callAsFunction(
    _ x: Tensor, keyValue: Tensor? = nil, bias: Tensor?, isCausal: Bool = false,
    cache: KVCache? = nil
  ) -> Tensor {
    let (b, t) = (x.shape[0], x.shape[1])
    func split(_ y: Tensor) -> Tensor {
      y.reshape([y.shape[0], y.shape[1], heads, dKv]).transpose(1, 2)
    }
    let qs = split(q(x))
    var ks: Tensor
    var vs: Tensor
    if let cache, cache.isCrossAttention, let ck = cache.keys, let cv = cache.values {
      (ks, vs) = (ck, cv)
    } else {
      let source = keyValue ?? x
      ks = split(k(source))
      vs = split(v(source))
      if let cache { (ks, vs) = cache.append(keys: ks, values: vs) }
    }
    let y = scaledDotProductAttention(
      qs, ks, vs, mask: bias, isCausal: isCausal, dropoutP: dropoutP, training: training, scale: 1)
    return o(y.transpose(1, 2).reshape([b, t, heads * dKv]))
  }
}

/// `T5LayerSelfAttention`: x + dropout(SelfAttention(layer_norm(x))).
public final class T5LayerSelfAttention: Module {
  @Child public var SelfAttention: T5Attention
  @Child public var layer_norm: T5LayerNorm
  let dropoutP: Double

  init(_ config: T5Config, isDecoder: Bool, hasRelativeAttentionBias: Bool) {
    SelfAttention = T5Attention(
      config, isDecoder: isDecoder, hasRelativeAttentionBias: hasRelativeAttentionBias)
    layer_norm = T5LayerNorm(config.dModel, eps: config.layerNormEpsilon)
    dropoutP = config.dropoutRate
    super.init()
  }

  func callAsFunction(_ x: Tensor, bias: Tensor?, isCausal: Bool, cache: KVCache?) -> Tensor {
    let a = SelfAttention(layer_norm(x), bias: bias, isCausal: isCausal, cache: cache)
    return x + dropout(a, p: dropoutP, training: training)
  }
}

/// `T5LayerCrossAttention`: x + dropout(EncDecAttention(layer_norm(x), encoder outputs)).
public final class T5LayerCrossAttention: Module {
  @Child public var EncDecAttention: T5Attention
  @Child public var layer_norm: T5LayerNorm
  let dropoutP: Double

  init(_ config: T5Config) {
    EncDecAttention = T5Attention(config, isDecoder: true, hasRelativeAttentionBias: false)
    layer_norm = T5LayerNorm(config.dModel, eps: config.layerNormEpsilon)
    dropoutP = config.dropoutRate
    super.init()
  }

  func callAsFunction(_ x: Tensor, encoder: Tensor, mask: Tensor?, cache: KVCache?) -> Tensor {
    let a = EncDecAttention(layer_norm(x), keyValue: encoder, bias: mask, cache: cache)
    return x + dropout(a, p: dropoutP, training: training)
  }
}

/// `T5Block`: `layer` holds self-attention, cross-attention (decoder only) and the
/// feed-forward, HF's `layer.0`, `layer.1`, `layer.2`.
public final class T5Block: Module {
  @Child public var layer: [Module]

  /// `feedForward` replaces the dense feed-forward (e.g. a sparse mixture of experts), or the
  /// whole `T5LayerFF` when it is a `T5FeedForwardLayer`.
  public init(
    _ config: T5Config, isDecoder: Bool, hasRelativeAttentionBias: Bool, feedForward: Module? = nil
  ) throws {
    var layers: [Module] = [
      T5LayerSelfAttention(
        config, isDecoder: isDecoder, hasRelativeAttentionBias: hasRelativeAttentionBias)
    ]
    if isDecoder { layers.append(T5LayerCrossAttention(config)) }
    if let whole = feedForward as? T5FeedForwardLayer {
      layers.append(whole)
    } else {
      layers.append(try T5LayerFF(config, feedForward: feedForward))
    }
    layer = layers
    super.init()
  }

  var selfAttention: T5LayerSelfAttention { layer[0] as! T5LayerSelfAttention }

  func callAsFunction(
    _ x: Tensor, bias: Tensor?, isCausal: Bool, encoder: Tensor?, encoderMask: Tensor?,
    selfCache: KVCache?, crossCache: KVCache?
  ) -> Tensor {
    var h = selfAttention(x, bias: bias, isCausal: isCausal, cache: selfCache)
    if let encoder, let cross = layer[1] as? T5LayerCrossAttention {
      h = cross(h, encoder: encoder, mask: encoderMask, cache: crossCache)
    }
    return layer[layer.count - 1](h)
  }
}
