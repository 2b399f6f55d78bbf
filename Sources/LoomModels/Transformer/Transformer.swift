import LoomCore
import LoomNN

/// `torch.nn.TransformerEncoder`: `layers` then the optional final `norm`.
public final class TransformerEncoder: Module {
  @Child public var layers: [TransformerEncoderLayer]
  @Child public var norm: LayerNorm?

  public init(layers: [TransformerEncoderLayer], norm: LayerNorm?) {
    self.layers = layers
    self.norm = norm
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor { self(x, mask: nil) }

  public func callAsFunction(
    _ src: Tensor, mask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil, isCausal: Bool = false
  ) -> Tensor {
    var h = src
    for layer in layers {
      h = layer(h, srcMask: mask, srcKeyPaddingMask: srcKeyPaddingMask, isCausal: isCausal)
    }
    return norm.map { $0(h) } ?? h
  }
}

/// `torch.nn.TransformerDecoder`: `layers` then the optional final `norm`; with a
/// `GenerationState` each layer reads and extends its self- and cross-attention caches.
public final class TransformerDecoder: Module {
  @Child public var layers: [TransformerDecoderLayer]
  @Child public var norm: LayerNorm?

  public init(layers: [TransformerDecoderLayer], norm: LayerNorm?) {
    self.layers = layers
    self.norm = norm
    super.init()
  }

  public func callAsFunction(
    _ tgt: Tensor, memory: Tensor, tgtMask: Tensor? = nil, memoryMask: Tensor? = nil,
    tgtKeyPaddingMask: Tensor? = nil, memoryKeyPaddingMask: Tensor? = nil,
    tgtIsCausal: Bool = false, state: GenerationState? = nil
  ) -> Tensor {
    var h = tgt
    for (i, layer) in layers.enumerated() {
      h = layer(
        h, memory: memory, tgtMask: tgtMask, memoryMask: memoryMask,
        tgtKeyPaddingMask: tgtKeyPaddingMask, memoryKeyPaddingMask: memoryKeyPaddingMask,
        tgtIsCausal: tgtIsCausal, selfCache: state?.selfAttention[i],
        crossCache: state?.crossAttention[i])
    }
    return norm.map { $0(h) } ?? h
  }
}

/// `torch.nn.Transformer(batch_first=True)`: the encoder–decoder trunk of "Attention Is All
/// You Need" with torch's parameter names (`encoder.layers.N.self_attn.in_proj_weight`,
/// `decoder.layers.N.multihead_attn.out_proj.weight`, `encoder.norm`, `decoder.norm`, …),
/// so a torch `state_dict` loads as is. Both final norms exist in either layer order, as
/// in torch. Initialised like torch: Xavier-uniform on every matrix.
public final class Transformer: Module {
  @Child public var encoder: TransformerEncoder
  @Child public var decoder: TransformerDecoder
  public let dModel: Int
  public let nhead: Int

  public init(
    dModel: Int = 512, nhead: Int = 8, numEncoderLayers: Int = 6, numDecoderLayers: Int = 6,
    dimFeedforward: Int = 2048, dropout: Double = 0.1, activation: Activation = .relu,
    layerNormEps: Double = 1e-5, normFirst: Bool = false
  ) throws {
    guard numEncoderLayers >= 0, numDecoderLayers >= 0, dimFeedforward > 0 else {
      throw LoomError(
        "Transformer: layer counts (\(numEncoderLayers), \(numDecoderLayers)) must not be negative and dim_feedforward (\(dimFeedforward)) must be positive"
      )
    }
    guard (0...1).contains(dropout) else {
      throw LoomError("Transformer: dropout must be in [0, 1], got \(dropout)")
    }
    encoder = TransformerEncoder(
      layers: try (0..<numEncoderLayers).map { _ in
        try TransformerEncoderLayer(
          dModel: dModel, nhead: nhead, dimFeedforward: dimFeedforward, dropout: dropout,
          activation: activation, layerNormEps: layerNormEps, normFirst: normFirst)
      }, norm: LayerNorm(dModel, eps: layerNormEps))
    decoder = TransformerDecoder(
      layers: try (0..<numDecoderLayers).map { _ in
        try TransformerDecoderLayer(
          dModel: dModel, nhead: nhead, dimFeedforward: dimFeedforward, dropout: dropout,
          activation: activation, layerNormEps: layerNormEps, normFirst: normFirst)
      }, norm: LayerNorm(dModel, eps: layerNormEps))
    self.dModel = dModel
    self.nhead = nhead
    super.init()
    noGrad {
      for p in parameters() where p.rank > 1 { p.copyIn(Init.xavierUniform(p.shape)) }
    }
  }

  /// torch's `Transformer.forward`: `src` [B, S, E] and `tgt` [B, T, E] → [B, T, E].
  /// Masks follow torch (bool true = not attended, or additive float); `tgtIsCausal`
  /// applies the square subsequent mask without building it.
  public func callAsFunction(
    _ src: Tensor, _ tgt: Tensor, srcMask: Tensor? = nil, tgtMask: Tensor? = nil,
    memoryMask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil,
    tgtKeyPaddingMask: Tensor? = nil, memoryKeyPaddingMask: Tensor? = nil,
    tgtIsCausal: Bool = false
  ) throws -> Tensor {
    guard src.rank == 3, tgt.rank == 3, src.shape[0] == tgt.shape[0] else {
      throw LoomError(
        "Transformer: src [batch, source, d_model] and tgt [batch, target, d_model] must share the batch, got \(src.shape) and \(tgt.shape)"
      )
    }
    guard src.shape[2] == dModel, tgt.shape[2] == dModel else {
      throw LoomError(
        "Transformer: the feature number of src and tgt must be equal to d_model (\(dModel)), got \(src.shape[2]) and \(tgt.shape[2])"
      )
    }
    let memory = encoder(src, mask: srcMask, srcKeyPaddingMask: srcKeyPaddingMask)
    return decoder(
      tgt, memory: memory, tgtMask: tgtMask, memoryMask: memoryMask,
      tgtKeyPaddingMask: tgtKeyPaddingMask, memoryKeyPaddingMask: memoryKeyPaddingMask,
      tgtIsCausal: tgtIsCausal)
  }
}
