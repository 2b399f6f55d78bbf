import LoomCore

/// Multi-head attention like `torch.nn.MultiheadAttention(batch_first: True)`, with
/// its parameter names, so torch state dicts load: `in_proj_weight` [3E, E] (q, k, v
/// rows) when key and value widths equal `embedDim`, else `q_proj_weight` [E, E],
/// `k_proj_weight` [E, kdim] and `v_proj_weight` [E, vdim]; `in_proj_bias` [3E];
/// `out_proj`. Without `needWeights` it runs the fused flash-attention op.
open class MultiheadAttention: Module {
  @Parameter public var inProjWeight: Tensor?
  @Parameter public var qProjWeight: Tensor?
  @Parameter public var kProjWeight: Tensor?
  @Parameter public var vProjWeight: Tensor?
  @Parameter public var inProjBias: Tensor?
  @Child public var outProj: Linear
  public let embedDim: Int, heads: Int, headDim: Int, kdim: Int, vdim: Int
  /// Dropout probability on the attention weights (training mode only).
  public let dropout: Double
  public let generator: Generator

  override public var keyOverrides: [String: String] {
    [
      "inProjWeight": "in_proj_weight", "qProjWeight": "q_proj_weight",
      "kProjWeight": "k_proj_weight",
      "vProjWeight": "v_proj_weight", "inProjBias": "in_proj_bias", "outProj": "out_proj",
    ]
  }

  /// Throws when `embedDim` is not divisible by `heads` or a size is not positive.
  /// Initialised like torch: Xavier-uniform projections, zero biases.
  public init(
    embedDim: Int, heads: Int, dropout: Double = 0, bias: Bool = true, kdim: Int? = nil,
    vdim: Int? = nil,
    generator: Generator = .global
  ) throws {
    let kd = kdim ?? embedDim
    let vd = vdim ?? embedDim
    guard embedDim > 0, heads > 0, kd > 0, vd > 0 else {
      throw LoomError(
        "MultiheadAttention: embed_dim (\(embedDim)), num_heads (\(heads)), kdim (\(kd)) and vdim (\(vd)) must be positive"
      )
    }
    guard embedDim % heads == 0 else {
      throw LoomError(
        "MultiheadAttention: embed_dim \(embedDim) is not divisible by num_heads \(heads)")
    }
    guard (0...1).contains(dropout) else {
      throw LoomError("MultiheadAttention: dropout must be in [0, 1], got \(dropout)")
    }
    let e = embedDim
    if kd == e && vd == e {
      inProjWeight = Init.xavierUniform([3 * e, e], generator: generator)
      (qProjWeight, kProjWeight, vProjWeight) = (nil, nil, nil)
    } else {
      inProjWeight = nil
      qProjWeight = Init.xavierUniform([e, e], generator: generator)
      kProjWeight = Init.xavierUniform([e, kd], generator: generator)
      vProjWeight = Init.xavierUniform([e, vd], generator: generator)
    }
    inProjBias = bias ? Init.zeros([3 * e]) : nil
    let out = Linear(e, e, bias: bias, generator: generator)
    if let b = out.bias { noGrad { b.fill(0) } }
    outProj = out
    (self.embedDim, self.heads, headDim, self.kdim, self.vdim) = (e, heads, e / heads, kd, vd)
    self.dropout = dropout
    self.generator = generator
    super.init()
  }

  /// Self-attention without masks.
  override open func forward(_ x: Tensor) -> Tensor { self(x, x, x).output }

  /// Attention of `query` [B, T, E] over `key` [B, S, kdim] and `value` [B, S, vdim]
  /// (or unbatched [T, E], [S, kdim], [S, vdim]) → output [B, T, E] and, with
  /// `needWeights`, the attention weights [B, T, S] averaged over heads (or
  /// [B, H, T, S]). Masks follow torch: `keyPaddingMask` [B, S] (true = ignore the key,
  /// or additive float), `attnMask` [T, S] or [B·H, T, S] (true = not allowed, or
  /// additive float). `isCausal` masks later keys, aligned so the last query sees the
  /// last key (torch wants it as a hint beside an explicit mask; here it suffices).
  /// With a `cache`, key/value hold only the new positions: they are appended and the
  /// queries attend over every cached position (S in the masks counts them all). A
  /// cross-attention cache (`KVCache(isCrossAttention: true)`) projects key/value once,
  /// on the first call, and reuses them afterwards (key/value are then not read).
  public func callAsFunction(
    _ query: Tensor, _ key: Tensor, _ value: Tensor, keyPaddingMask: Tensor? = nil,
    attnMask: Tensor? = nil,
    isCausal: Bool = false, needWeights: Bool = false, averageWeights: Bool = true,
    cache: KVCache? = nil
  ) -> (output: Tensor, weights: Tensor?) {
    Functional.multiheadAttention(
      query, key, value, heads: heads, inProjWeight: inProjWeight, qProjWeight: qProjWeight,
      kProjWeight: kProjWeight,
      vProjWeight: vProjWeight, inProjBias: inProjBias, outProjWeight: outProj.weight,
      outProjBias: outProj.bias,
      keyPaddingMask: keyPaddingMask, attnMask: attnMask, isCausal: isCausal,
      needWeights: needWeights,
      averageWeights: averageWeights, dropout: dropout, training: training, generator: generator,
      cache: cache)
  }

  /// Checks a call's shapes (batched); the message names the argument and the shapes
  /// involved. `cachedLength` counts positions already in the cache.
  public func validate(
    query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Tensor? = nil,
    attnMask: Tensor? = nil,
    cachedLength: Int = 0
  ) throws {
    try AttentionShapes.validate(
      query: query, key: key, value: value, keyPaddingMask: keyPaddingMask, attnMask: attnMask,
      embedDim: embedDim,
      kdim: kdim, vdim: vdim, heads: heads, cachedLength: cachedLength)
  }
}

enum AttentionShapes {
  static func validate(
    query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Tensor?, attnMask: Tensor?,
    embedDim e: Int, kdim: Int,
    vdim: Int, heads: Int, cachedLength: Int
  ) throws {
    guard query.rank == 3, query.shape[2] == e else {
      throw LoomError("MultiheadAttention: query must be [batch, target, \(e)], got \(query.shape)")
    }
    guard key.rank == 3, key.shape[2] == kdim else {
      throw LoomError(
        "MultiheadAttention: key must be [batch, source, \(kdim)] (kdim), got \(key.shape)")
    }
    guard value.rank == 3, value.shape[2] == vdim else {
      throw LoomError(
        "MultiheadAttention: value must be [batch, source, \(vdim)] (vdim), got \(value.shape)")
    }
    let (b, t) = (query.shape[0], query.shape[1])
    guard key.shape[0] == b, value.shape[0] == b, key.shape[1] == value.shape[1] else {
      throw LoomError(
        "MultiheadAttention: query \(query.shape), key \(key.shape) and value \(value.shape) disagree on batch or source length"
      )
    }
    let s = cachedLength + key.shape[1]
    if let m = keyPaddingMask {
      guard m.shape == [b, s], m.dtype == .bool || m.dtype.isFloatingPoint else {
        throw LoomError(
          "MultiheadAttention: key_padding_mask must be bool or float [batch, source] = [\(b), \(s)], got \(m.dtype) \(m.shape)"
        )
      }
    }
    if let m = attnMask {
      guard m.shape == [t, s] || m.shape == [b * heads, t, s],
        m.dtype == .bool || m.dtype.isFloatingPoint
      else {
        throw LoomError(
          "MultiheadAttention: attn_mask must be bool or float [target, source] = [\(t), \(s)] or [batch·heads, target, source] = [\(b * heads), \(t), \(s)], got \(m.dtype) \(m.shape)"
        )
      }
    }
  }

  /// Embed, key and value widths implied by the projection weights.
  static func widths(
    heads: Int, inProjWeight: Tensor?, qProjWeight: Tensor?, kProjWeight: Tensor?,
    vProjWeight: Tensor?,
    inProjBias: Tensor?, outProjWeight: Tensor
  ) throws -> (embed: Int, kdim: Int, vdim: Int) {
    let e = outProjWeight.shape.last ?? 0
    let dims: (Int, Int, Int)
    if let w = inProjWeight {
      guard w.shape == [3 * e, e] else {
        throw LoomError("MultiheadAttention: in_proj_weight must be [3·\(e), \(e)], got \(w.shape)")
      }
      dims = (e, e, e)
    } else if let wq = qProjWeight, let wk = kProjWeight, let wv = vProjWeight {
      guard wq.shape == [e, e], wk.rank == 2, wk.shape[0] == e, wv.rank == 2, wv.shape[0] == e
      else {
        throw LoomError(
          "MultiheadAttention: q/k/v projection weights must be [\(e), \(e)], [\(e), kdim], [\(e), vdim], got \(wq.shape), \(wk.shape), \(wv.shape)"
        )
      }
      dims = (e, wk.shape[1], wv.shape[1])
    } else {
      throw LoomError(
        "MultiheadAttention: needs in_proj_weight or all of q_proj_weight, k_proj_weight, v_proj_weight"
      )
    }
    guard outProjWeight.shape == [e, e], e > 0, heads > 0, e % heads == 0 else {
      throw LoomError(
        "MultiheadAttention: out_proj weight \(outProjWeight.shape) must be [E, E] with E divisible by num_heads \(heads)"
      )
    }
    if let b = inProjBias, b.shape != [3 * e] {
      throw LoomError("MultiheadAttention: in_proj_bias must be [\(3 * e)], got \(b.shape)")
    }
    return dims
  }
}

extension Functional {
  /// torch's `F.multi_head_attention_forward` for batch-first inputs (see
  /// `MultiheadAttention` for the arguments): the packed `inProjWeight` [3E, E] or the
  /// three separate projection weights, then `outProjWeight` [E, E]. Query, key and
  /// value given as one tensor take a single projection GEMM.
  ///
  /// `projections`, when given, computes the four projections instead of the weights (which
  /// then only give the widths): the modules that hold them may be adapters (LoRA) whose
  /// output is not `x·Wᵀ + b`.
  public static func multiheadAttention(
    _ query: Tensor, _ key: Tensor, _ value: Tensor, heads: Int, inProjWeight: Tensor? = nil,
    qProjWeight: Tensor? = nil, kProjWeight: Tensor? = nil, vProjWeight: Tensor? = nil,
    inProjBias: Tensor? = nil,
    outProjWeight: Tensor, outProjBias: Tensor? = nil, keyPaddingMask: Tensor? = nil,
    attnMask: Tensor? = nil,
    isCausal: Bool = false, needWeights: Bool = false, averageWeights: Bool = true,
    dropout: Double = 0,
    training: Bool = false, generator: Generator = .global, cache: KVCache? = nil,
    projections: AttentionProjections? = nil
  ) -> (output: Tensor, weights: Tensor?) {
    let packedSelf = query === key && key === value && inProjWeight != nil && projections == nil
    var (q0, k0, v0, kpm) = (query, key, value, keyPaddingMask)
    let unbatched = query.rank == 2
    if unbatched {
      // A batch of one.
      (q0, k0, v0) = (
        query.unsqueeze(0), key.rank == 2 ? key.unsqueeze(0) : key,
        value.rank == 2 ? value.unsqueeze(0) : value
      )
      kpm = keyPaddingMask.map { $0.rank == 1 ? $0.unsqueeze(0) : $0 }
    }
    let e: Int
    do {
      let w = try AttentionShapes.widths(
        heads: heads, inProjWeight: inProjWeight, qProjWeight: qProjWeight,
        kProjWeight: kProjWeight,
        vProjWeight: vProjWeight, inProjBias: inProjBias, outProjWeight: outProjWeight)
      e = w.embed
      try AttentionShapes.validate(
        query: q0, key: k0, value: v0, keyPaddingMask: kpm, attnMask: attnMask, embedDim: w.embed,
        kdim: w.kdim,
        vdim: w.vdim, heads: heads,
        cachedLength: cache.map { $0.isCrossAttention ? 0 : $0.length } ?? 0)
    } catch { fatalError("Loom: \(error)") }
    let (b, t, h, d) = (q0.shape[0], q0.shape[1], heads, e / heads)

    // Projections as [B, H, L, D] views.
    var q: Tensor
    var k: Tensor
    var v: Tensor
    if let cache, cache.isCrossAttention, let ck = cache.keys, let cv = cache.values {
      // Encoder keys/values were projected on the first step.
      let wq = inProjWeight?.slice(dim: 0, start: 0, end: e) ?? qProjWeight!
      let bq = inProjBias?.slice(dim: 0, start: 0, end: e)
      q = (projections?.query(q0) ?? linear(q0, weight: wq, bias: bq)).reshape([b, t, h, d])
        .transpose(1, 2)
      (k, v) = (ck, cv)
    } else if packedSelf, let w = inProjWeight {
      // One GEMM; [B, T, 3, H, D] → three views, no copies.
      let qkv = linear(q0, weight: w, bias: inProjBias).reshape([b, t, 3, h, d])
      (q, k, v) = (0..<3).map { qkv.select(dim: 2, index: $0).transpose(1, 2) }.triple
    } else {
      func part(_ x: Tensor?, _ i: Int) -> Tensor? {
        x?.slice(dim: 0, start: i * e, end: (i + 1) * e)
      }
      func split(_ x: Tensor) -> Tensor {
        x.reshape([x.shape[0], x.shape[1], h, d]).transpose(1, 2)
      }
      if let projections {
        (q, k, v) = (
          split(projections.query(q0)), split(projections.key(k0)), split(projections.value(v0))
        )
      } else {
        q = split(
          linear(q0, weight: part(inProjWeight, 0) ?? qProjWeight!, bias: part(inProjBias, 0)))
        k = split(
          linear(k0, weight: part(inProjWeight, 1) ?? kProjWeight!, bias: part(inProjBias, 1)))
        v = split(
          linear(v0, weight: part(inProjWeight, 2) ?? vProjWeight!, bias: part(inProjBias, 2)))
      }
    }
    if let cache, !(cache.isCrossAttention && cache.length > 0) {
      (k, v) = cache.append(keys: k, values: v)
    }
    let s = k.shape[2]
    let mask = combinedAttentionMask(
      kpm, attnMask, batch: b, heads: h, target: t, source: s, dtype: q.dtype)

    var weights: Tensor? = nil
    let y: Tensor
    if needWeights {
      // Explicit softmax(q·kᵀ/√d + mask)·v; torch returns the weights after dropout.
      var scores = q.matmul(k.transpose(-2, -1)) * (1 / Double(d).squareRoot())
      if isCausal {
        let keep = Tensor.triangleMask(
          rows: t, cols: s, diagonal: s - t, lower: true, device: q.device)
        scores = scores.maskedFill(keep.logicalNot(), value: -.infinity)
      }
      if let mask {
        let bool = mask.dtype == .bool
        scores = bool ? scores.maskedFill(mask.logicalNot(), value: -.infinity) : scores + mask
      }
      var p = scores.softmax(dim: -1)
      if training && dropout > 0 { p = LoomCore.dropout(p, p: dropout, generator: generator) }
      y = p.matmul(v)
      weights = averageWeights ? p.mean(dim: 1) : p
    } else {
      y = scaledDotProductAttention(
        q, k, v, mask: mask, isCausal: isCausal, dropoutP: dropout, training: training,
        generator: generator)
    }
    let merged = y.transpose(1, 2).reshape([b, t, e])
    let out =
      projections?.output(merged) ?? linear(merged, weight: outProjWeight, bias: outProjBias)
    return unbatched ? (out.squeeze(0), weights?.squeeze(0)) : (out, weights)
  }

  /// torch's masks (true = ignore) as one mask in `scaledDotProductAttention`'s
  /// convention (bool true = attend, or additive float), broadcastable to [B, H, T, S].
  /// A lone key-padding mask stays [B, 1, 1, S], the shape the fused kernel takes.
  static func combinedAttentionMask(
    _ keyPadding: Tensor?, _ attn: Tensor?, batch b: Int, heads: Int, target t: Int, source s: Int,
    dtype: DType
  ) -> Tensor? {
    var parts: [Tensor] = []
    if let m = keyPadding {
      let r = m.reshape([b, 1, 1, s])
      parts.append(m.dtype == .bool ? r.logicalNot() : r.to(dtype))
    }
    if let m = attn {
      let r = m.rank == 2 ? m.reshape([1, 1, t, s]) : m.reshape([b, heads, t, s])
      parts.append(m.dtype == .bool ? r.logicalNot() : r.to(dtype))
    }
    guard let first = parts.first else { return nil }
    guard parts.count == 2 else { return first }
    if first.dtype == .bool && parts[1].dtype == .bool { return first.logicalAnd(parts[1]) }
    // Mixed kinds: bool masks become 0 / −∞ and the two add.
    let additive = parts.map { m in
      m.dtype == .bool
        ? Tensor.zeros(m.shape, dtype: dtype, device: m.device).maskedFill(
          m.logicalNot(), value: -.infinity) : m
    }
    return additive[0] + additive[1]
  }
}

extension Array {
  fileprivate var triple: (Element, Element, Element) { (self[0], self[1], self[2]) }
}

/// The four projections of an attention layer computed by its modules (for layers that may be
/// wrapped by adapters), for `Functional.multiheadAttention(…, projections:)`.
public struct AttentionProjections {
  public let query: (Tensor) -> Tensor
  public let key: (Tensor) -> Tensor
  public let value: (Tensor) -> Tensor
  public let output: (Tensor) -> Tensor

  public init(
    query: @escaping (Tensor) -> Tensor, key: @escaping (Tensor) -> Tensor,
    value: @escaping (Tensor) -> Tensor, output: @escaping (Tensor) -> Tensor
  ) {
    (self.query, self.key, self.value, self.output) = (query, key, value, output)
  }
}
