import Foundation
import LoomCore
import LoomNN

/// DistilBERT's embeddings: words plus positions (learned or sinusoidal), no token types.
public final class DistilBertEmbeddings: Module {
  @Child public var word_embeddings: Embedding
  @Child public var position_embeddings: Embedding
  @Child public var LayerNorm: LoomNN.LayerNorm
  let config: DistilBertConfig

  init(_ config: DistilBertConfig) {
    word_embeddings = Embedding(config.vocabSize, config.dim)
    position_embeddings = Embedding(config.maxPositionEmbeddings, config.dim)
    LayerNorm = LoomNN.LayerNorm(config.dim, eps: DistilBertConfig.layerNormEps)
    self.config = config
    super.init()
  }

  func callAsFunction(_ inputs: EncoderInputs, model: String) throws -> Tensor {
    let ids = inputs.inputIds
    if let e = inputs.inputsEmbeds {
      try EncoderInputCheck.embeds(e, width: config.dim, model: model)
    } else {
      guard ids.rank == 2, ids.shape[1] > 0 else {
        throw LoomError("\(model): input_ids must be [batch, sequence] with at least one token, got shape \(ids.shape)")
      }
    }
    let s = ids.shape[1]
    let idValues =
      try inputs.inputsEmbeds == nil
      ? EncoderInputCheck.ids(ids, name: "input_ids", below: config.vocabSize, field: "vocab_size", model: model) : []
    if inputs.tokenTypeIds != nil {
      throw LoomError("\(model): DistilBERT has no token types; drop token_type_ids from the inputs")
    }
    guard s <= config.maxPositionEmbeddings else {
      throw LoomError(
        "\(model): sequence of \(s) tokens is longer than max_position_embeddings = \(config.maxPositionEmbeddings); truncate the input (max_length)")
    }
    let device = word_embeddings.weight.device
    let positions: Tensor
    if let p = inputs.positionIds {
      try EncoderInputCheck.shape(p, "position_ids", like: ids, model: model)
      _ = try EncoderInputCheck.ids(
        p, name: "position_ids", below: config.maxPositionEmbeddings, field: "max_position_embeddings", model: model)
      positions = p.to(.int64).to(device: device)
    } else {
      positions = Tensor.arange(0, Double(s), device: device).to(.int64).reshape([1, s])
    }
    // HF's inputs_embeds replace the lookup; positions are the same 0..<S.
    let words =
      inputs.inputsEmbeds.map { $0.to(device: device).to(word_embeddings.weight.dtype) }
      ?? PaddingRow.stopGradient(word_embeddings(ids.to(device: device)), ids: idValues, paddingIdx: config.padTokenId)
    let x = words + position_embeddings(positions)
    return dropout(LayerNorm(x), p: config.dropout, training: training)
  }

  /// HF's `create_sinusoidal_embeddings`: sin on even columns, cos on odd, 10000^(2⌊j/2⌋/dim).
  static func sinusoidalTable(positions: Int, dim: Int) -> Tensor {
    var v = [Float](repeating: 0, count: positions * dim)
    for pos in 0..<positions {
      for j in 0..<dim {
        let angle = Double(pos) / pow(10000, Double(2 * (j / 2)) / Double(dim))
        v[pos * dim + j] = Float(j % 2 == 0 ? sin(angle) : cos(angle))
      }
    }
    return Tensor(v, shape: [positions, dim])
  }
}

/// `DistilBertSelfAttention`: q_lin, k_lin, v_lin (one GEMM at run time), out_lin.
public final class DistilBertSelfAttention: Module {
  @Child public var q_lin: Linear
  @Child public var k_lin: Linear
  @Child public var v_lin: Linear
  @Child public var out_lin: Linear
  let heads: Int
  let dropoutP: Double

  init(_ config: DistilBertConfig) {
    q_lin = Linear(config.dim, config.dim)
    k_lin = Linear(config.dim, config.dim)
    v_lin = Linear(config.dim, config.dim)
    out_lin = Linear(config.dim, config.dim)
    heads = config.nHeads
    dropoutP = config.attentionDropout
    super.init()
  }

  func callAsFunction(_ x: Tensor, keyMask: Tensor?) -> Tensor {
    let y = EncoderAttention.selfAttention(
      x, q: q_lin, k: k_lin, v: v_lin, heads: heads, keyMask: keyMask, dropoutP: dropoutP, training: training)
    return out_lin(y)
  }
}

/// `FFN`: lin1, activation, lin2, dropout.
public final class DistilBertFFN: Module {
  @Child public var lin1: Linear
  @Child public var lin2: Linear
  let activation: Activation
  let dropoutP: Double

  init(_ config: DistilBertConfig) {
    lin1 = Linear(config.dim, config.hiddenDim)
    lin2 = Linear(config.hiddenDim, config.dim)
    activation = config.activation
    dropoutP = config.dropout
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    dropout(lin2(activation(lin1(x))), p: dropoutP, training: training)
  }
}

/// `TransformerBlock`: attention, sa_layer_norm, ffn, output_layer_norm (post-norm).
public final class DistilBertBlock: Module {
  @Child public var attention: DistilBertSelfAttention
  @Child public var sa_layer_norm: LayerNorm
  @Child public var ffn: DistilBertFFN
  @Child public var output_layer_norm: LayerNorm

  init(_ config: DistilBertConfig) {
    attention = DistilBertSelfAttention(config)
    sa_layer_norm = LayerNorm(config.dim, eps: DistilBertConfig.layerNormEps)
    ffn = DistilBertFFN(config)
    output_layer_norm = LayerNorm(config.dim, eps: DistilBertConfig.layerNormEps)
    super.init()
  }

  func callAsFunction(_ x: Tensor, keyMask: Tensor?) -> Tensor {
    let a = sa_layer_norm(attention(x, keyMask: keyMask) + x)
    return recordForward(output_layer_norm(ffn(a) + a), inputs: [x])
  }
}

/// `Transformer`: `layer.N`.
public final class DistilBertTransformer: Module {
  @Child public var layer: [DistilBertBlock]
  init(_ config: DistilBertConfig) {
    layer = (0..<config.nLayers).map { _ in DistilBertBlock(config) }
    super.init()
  }
}

/// DistilBERT's trunk (`DistilBertModel`): embeddings and transformer; no pooler.
public final class DistilBertModel: Module, EncoderModel {
  @Child public var embeddings: DistilBertEmbeddings
  @Child public var transformer: DistilBertTransformer
  public let config: DistilBertConfig
  let name: String

  public init(_ config: DistilBertConfig, name: String = "DistilBertModel") throws {
    try config.validate()
    embeddings = DistilBertEmbeddings(config)
    transformer = DistilBertTransformer(config)
    self.config = config
    self.name = name
    super.init()
    EncoderInit.apply(self, std: config.initializerRange, paddingIdx: config.padTokenId)
    if config.sinusoidalPosEmbds {
      let w = embeddings.position_embeddings.weight
      noGrad { w.copyIn(DistilBertEmbeddings.sinusoidalTable(positions: w.shape[0], dim: w.shape[1]).to(w.dtype)) }
      w.requiresGrad = false  // HF: a fixed table
    }
  }

  public var maxSequenceLength: Int { config.maxPositionEmbeddings }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var h = try embeddings(inputs, model: name)
    let keyMask = try BertModel.keyMask(inputs, device: h.device, model: name)
    var all: [Tensor]? = inputs.outputHiddenStates ? [h] : nil
    for l in transformer.layer {
      h = l.checkpointed(h) { l($0, keyMask: keyMask) }
      all?.append(h)
    }
    var out = EncoderOutput()
    out.lastHiddenState = recordForward(h, inputs: [inputs.inputIds])
    out.hiddenStates = all
    return out
  }

  /// Last hidden states [B, S, C].
  public func callAsFunction(inputIds ids: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try forward(EncoderInputs(inputIds: ids, attentionMask: attentionMask)).lastHiddenState!
  }
}
