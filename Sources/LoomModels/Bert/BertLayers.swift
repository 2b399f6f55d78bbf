import Foundation
import LoomCore
import LoomNN

/// Word, position and token-type embeddings, summed, normalised, dropped out
/// (`BertEmbeddings`; RoBERTa's when `paddingIdx` is set: positions count from
/// padding_idx + 1 over non-padding tokens).
public final class BertEmbeddings: Module {
  @Child public var word_embeddings: Embedding
  @Child public var position_embeddings: Embedding
  @Child public var token_type_embeddings: Embedding
  @Child public var LayerNorm: LoomNN.LayerNorm
  let config: BertConfig
  /// RoBERTa's padding_idx for position ids; nil for BERT's 0..<S.
  let robertaPaddingIdx: Int?

  init(_ config: BertConfig, robertaPaddingIdx: Int? = nil) {
    word_embeddings = Embedding(config.vocabSize, config.hiddenSize)
    position_embeddings = Embedding(config.maxPositionEmbeddings, config.hiddenSize)
    token_type_embeddings = Embedding(config.typeVocabSize, config.hiddenSize)
    LayerNorm = LoomNN.LayerNorm(config.hiddenSize, eps: config.layerNormEps)
    self.config = config
    self.robertaPaddingIdx = robertaPaddingIdx
    super.init()
  }

  /// Checks ids, token types and positions on the host, then embeds them.
  func callAsFunction(_ inputs: EncoderInputs, model: String) throws -> Tensor {
    if let embeds = inputs.inputsEmbeds { return try fromEmbeddings(embeds, inputs, model: model) }
    let ids = inputs.inputIds
    guard ids.rank == 2, ids.shape[1] > 0 else {
      throw LoomError("\(model): input_ids must be [batch, sequence] with at least one token, got shape \(ids.shape)")
    }
    let (b, s) = (ids.shape[0], ids.shape[1])
    let idValues = try EncoderInputCheck.ids(ids, name: "input_ids", below: config.vocabSize, field: "vocab_size", model: model)
    try EncoderInputCheck.shape(inputs.tokenTypeIds, "token_type_ids", like: ids, model: model)
    try EncoderInputCheck.shape(inputs.positionIds, "position_ids", like: ids, model: model)
    let device = word_embeddings.weight.device
    let positions: Tensor
    if let p = inputs.positionIds {
      _ = try EncoderInputCheck.ids(
        p, name: "position_ids", below: config.maxPositionEmbeddings, field: "max_position_embeddings", model: model)
      positions = p.to(.int64).to(device: device)
    } else if let pad = robertaPaddingIdx {
      positions = try Self.robertaPositions(idValues, batch: b, length: s, paddingIdx: pad, limit: config.maxPositionEmbeddings, model: model, device: device)
    } else {
      guard s <= config.maxPositionEmbeddings else {
        throw LoomError(
          "\(model): sequence of \(s) tokens is longer than max_position_embeddings = \(config.maxPositionEmbeddings); truncate the input (max_length)")
      }
      positions = Tensor.arange(0, Double(s), device: device).to(.int64).reshape([1, s])
    }
    // HF's padding_idx: no gradient into the padding row (RoBERTa's position table too).
    let words = word_embeddings(ids.to(device: device))
    let x: Tensor
    if let pad = robertaPaddingIdx {
      x = PaddingRow.stopGradient(words + position_embeddings(positions), ids: idValues, paddingIdx: pad)
    } else {
      x = PaddingRow.stopGradient(words, ids: idValues, paddingIdx: config.padTokenId) + position_embeddings(positions)
    }
    return try withTokenTypes(x, inputs, model: model)
  }

  /// Adds the token-type embeddings (type 0 where none are given), normalises, drops out.
  func withTokenTypes(_ sum: Tensor, _ inputs: EncoderInputs, model: String) throws -> Tensor {
    var x = sum
    if let tt = inputs.tokenTypeIds {
      _ = try EncoderInputCheck.ids(tt, name: "token_type_ids", below: config.typeVocabSize, field: "type_vocab_size", model: model)
      x = x + token_type_embeddings(tt.to(device: x.device))
    } else {
      x = x + token_type_embeddings.weight.select(dim: 0, index: 0)  // type 0 everywhere
    }
    return dropout(LayerNorm(x), p: config.hiddenDropoutProb, training: training)
  }

  /// HF's `inputs_embeds` path: the given embeddings instead of the word lookup; positions
  /// 0..<S, or RoBERTa's padding_idx + 1 … (HF's create_position_ids_from_inputs_embeds:
  /// padding cannot be seen, so every position counts).
  func fromEmbeddings(_ embeds: Tensor, _ inputs: EncoderInputs, model: String) throws -> Tensor {
    try EncoderInputCheck.embeds(embeds, width: config.hiddenSize, model: model)
    let s = embeds.shape[1]
    try EncoderInputCheck.shape(inputs.tokenTypeIds, "token_type_ids", like: inputs.inputIds, model: model)
    let device = word_embeddings.weight.device
    let first = robertaPaddingIdx.map { $0 + 1 } ?? 0
    let positions: Tensor
    if let p = inputs.positionIds {
      try EncoderInputCheck.shape(p, "position_ids", like: inputs.inputIds, model: model)
      _ = try EncoderInputCheck.ids(
        p, name: "position_ids", below: config.maxPositionEmbeddings, field: "max_position_embeddings", model: model)
      positions = p.to(.int64).to(device: device)
    } else {
      guard first + s <= config.maxPositionEmbeddings else {
        throw LoomError(
          "\(model): inputs_embeds of \(s) positions needs position \(first + s - 1), but max_position_embeddings = \(config.maxPositionEmbeddings); shorten the input")
      }
      positions = Tensor.arange(Double(first), Double(first + s), device: device).to(.int64).reshape([1, s])
    }
    let words = embeds.to(device: device).to(word_embeddings.weight.dtype)
    return try withTokenTypes(words + position_embeddings(positions), inputs, model: model)
  }

  /// HF's `create_position_ids_from_input_ids`: padding_idx + running count of non-padding tokens, padding_idx on padding.
  static func robertaPositions(
    _ ids: [Int64], batch: Int, length: Int, paddingIdx: Int, limit: Int, model: String, device: Device
  ) throws -> Tensor {
    var out = [Int64](repeating: 0, count: ids.count)
    var longest: Int64 = 0
    for r in 0..<batch {
      var running: Int64 = 0
      for c in 0..<length {
        let i = r * length + c
        if ids[i] == Int64(paddingIdx) {
          out[i] = Int64(paddingIdx)
        } else {
          running += 1
          out[i] = running + Int64(paddingIdx)
          longest = max(longest, out[i])
        }
      }
    }
    guard longest < Int64(limit) else {
      throw LoomError(
        "\(model): sequence of \(longest - Int64(paddingIdx)) tokens needs position \(longest), but max_position_embeddings = \(limit) allows \(limit - paddingIdx - 1) tokens; truncate the input (max_length)")
    }
    return Tensor(out, shape: [batch, length], device: device)
  }
}

/// Query, key and value projections and fused scaled-dot-product attention
/// (`BertSelfAttention`; HF's separate Linear weights).
public final class BertSelfAttention: Module {
  @Child public var query: Linear
  @Child public var key: Linear
  @Child public var value: Linear
  let heads: Int
  let dropoutP: Double

  init(hidden: Int, heads: Int, dropout: Double) {
    query = Linear(hidden, hidden)
    key = Linear(hidden, hidden)
    value = Linear(hidden, hidden)
    self.heads = heads
    dropoutP = dropout
    super.init()
  }

  /// x [B, S, C], keyMask [B, 1, 1, S] (true = attend) → context [B, S, C].
  func callAsFunction(_ x: Tensor, keyMask: Tensor?) -> Tensor {
    EncoderAttention.selfAttention(
      x, q: query, k: key, v: value, heads: heads, keyMask: keyMask, dropoutP: dropoutP, training: training)
  }
}

/// Dense, dropout, residual, LayerNorm (`BertSelfOutput` and `BertOutput`).
public final class BertResidualOutput: Module {
  @Child public var dense: Linear
  @Child public var LayerNorm: LoomNN.LayerNorm
  let dropoutP: Double

  init(_ inFeatures: Int, _ hidden: Int, eps: Double, dropout: Double) {
    dense = Linear(inFeatures, hidden)
    LayerNorm = LoomNN.LayerNorm(hidden, eps: eps)
    dropoutP = dropout
    super.init()
  }

  func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
    LayerNorm(dropout(dense(x), p: dropoutP, training: training) + residual)
  }
}

/// `BertAttention`: attention.self and attention.output.
public final class BertAttention: Module {
  /// HF's `attention.self`.
  @Child public var selfAttention: BertSelfAttention
  @Child public var output: BertResidualOutput
  override public var keyOverrides: [String: String] { ["selfAttention": "self"] }

  init(_ config: BertConfig) {
    selfAttention = BertSelfAttention(
      hidden: config.hiddenSize, heads: config.numAttentionHeads, dropout: config.attentionProbsDropoutProb)
    output = BertResidualOutput(
      config.hiddenSize, config.hiddenSize, eps: config.layerNormEps, dropout: config.hiddenDropoutProb)
    super.init()
  }

  func callAsFunction(_ x: Tensor, keyMask: Tensor?) -> Tensor {
    output(selfAttention(x, keyMask: keyMask), residual: x)
  }
}

/// `BertIntermediate`: dense then the config's activation.
public final class BertIntermediate: Module {
  @Child public var dense: Linear
  let activation: Activation

  init(_ config: BertConfig) {
    dense = Linear(config.hiddenSize, config.intermediateSize)
    activation = config.hiddenAct
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor { activation(dense(x)) }
}

/// One post-norm transformer layer (`BertLayer`).
public final class BertLayer: Module {
  @Child public var attention: BertAttention
  @Child public var intermediate: BertIntermediate
  @Child public var output: BertResidualOutput

  init(_ config: BertConfig) {
    attention = BertAttention(config)
    intermediate = BertIntermediate(config)
    output = BertResidualOutput(
      config.intermediateSize, config.hiddenSize, eps: config.layerNormEps, dropout: config.hiddenDropoutProb)
    super.init()
  }

  func callAsFunction(_ x: Tensor, keyMask: Tensor?) -> Tensor {
    let a = attention(x, keyMask: keyMask)
    return recordForward(output(intermediate(a), residual: a), inputs: [x])
  }
}

/// `BertEncoder`: the stack of layers.
public final class BertEncoder: Module {
  @Child public var layer: [BertLayer]

  init(_ config: BertConfig) {
    layer = (0..<config.numHiddenLayers).map { _ in BertLayer(config) }
    super.init()
  }

  /// The last hidden state, and every layer's input and the final output when asked.
  func callAsFunction(_ x: Tensor, keyMask: Tensor?, keepAll: Bool) -> (Tensor, [Tensor]?) {
    var h = x
    var all: [Tensor]? = keepAll ? [x] : nil
    for l in layer {
      h = l.checkpointed(h) { l($0, keyMask: keyMask) }
      all?.append(h)
    }
    return (h, all)
  }
}

/// `BertPooler`: tanh(dense(first token)).
public final class BertPooler: Module {
  @Child public var dense: Linear

  init(_ config: BertConfig) {
    dense = Linear(config.hiddenSize, config.hiddenSize)
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor { dense(x.select(dim: 1, index: 0)).tanh() }
}

/// HF's `_init_weights` for encoders: Linear and Embedding weights N(0, std), biases 0,
/// the padding row of word embeddings 0, LayerNorms 1 and 0.
enum EncoderInit {
  static func apply(_ root: Module, std: Double, paddingIdx: Int?, generator: Generator = .global) {
    noGrad {
      for (name, m) in root.namedModules() {
        if let l = m as? Linear {
          normal(l.weight, std: std, generator: generator)
          l.bias?.fill(0)
        } else if let e = m as? Embedding {
          normal(e.weight, std: std, generator: generator)
          if name.hasSuffix("word_embeddings"), let p = paddingIdx, p >= 0, p < e.weight.shape[0] {
            e.weight[p].fill(0)
          }
        }
      }
    }
  }

  /// N(0, std²) float32 draws written into `w` in place (no temporary the size of the
  /// word-embedding table); other dtypes take the float32 draws converted, as before.
  static func normal(_ w: Tensor, std: Double, generator: Generator) {
    if ParameterCreation.scope?.skipsInitialization == true { return }  // weights are loaded next
    if w.dtype == .float32 {
      w.fillNormal(std: std, generator: generator)
    } else {
      w.copyIn(Tensor.randn(w.shape, std: std, generator: generator).to(w.dtype))
    }
  }
}
