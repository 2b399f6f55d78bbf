import Foundation
import LoomCore
import LoomNN

/// BERT's trunk (`BertModel`): embeddings with token types, the encoder and an optional pooler.
public final class BertModel: Module, EncoderModel {
  @Child public var embeddings: BertEmbeddings
  @Child public var encoder: BertEncoder
  @Child public var pooler: BertPooler?
  public let config: BertConfig
  let name: String

  /// `addPoolingLayer` is HF's add_pooling_layer (heads other than sequence
  /// classification and pretraining build the trunk without it).
  public init(_ config: BertConfig, addPoolingLayer: Bool = true, robertaPaddingIdx: Int? = nil, name: String = "BertModel") throws {
    try config.validate()
    embeddings = BertEmbeddings(config, robertaPaddingIdx: robertaPaddingIdx)
    encoder = BertEncoder(config)
    pooler = addPoolingLayer ? BertPooler(config) : nil
    self.config = config
    self.name = name
    super.init()
    EncoderInit.apply(self, std: config.initializerRange, paddingIdx: config.padTokenId)
  }

  public var maxSequenceLength: Int { config.maxPositionEmbeddings - (embeddings.robertaPaddingIdx.map { $0 + 1 } ?? 0) }

  /// last_hidden_state, pooler_output (with a pooler) and hidden_states when asked.
  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    try Self.trunk(self, embeddings, encoder, pooler, inputs, name: name)
  }

  /// BERT's and RoBERTa's trunk: embeddings, layers under the key mask, pooler.
  static func trunk(
    _ module: Module, _ embeddings: BertEmbeddings, _ encoder: BertEncoder, _ pooler: BertPooler?,
    _ inputs: EncoderInputs, name: String
  ) throws -> EncoderOutput {
    let x = try embeddings(inputs, model: name)
    let keyMask = try keyMask(inputs, device: x.device, model: name)
    let (h, all) = encoder(x, keyMask: keyMask, keepAll: inputs.outputHiddenStates)
    var out = EncoderOutput()
    out.lastHiddenState = module.recordForward(h, inputs: [inputs.inputIds])
    out.poolerOutput = pooler?(h)
    out.hiddenStates = all
    return out
  }

  /// Last hidden states [B, S, C] of ids (and an optional [B, S] attention mask).
  public func callAsFunction(inputIds ids: Tensor, attentionMask: Tensor? = nil, tokenTypeIds: Tensor? = nil) throws -> Tensor {
    try forward(EncoderInputs(inputIds: ids, attentionMask: attentionMask, tokenTypeIds: tokenTypeIds)).lastHiddenState!
  }

  /// [B, S] attention mask → bool key mask [B, 1, 1, S] on `device` (nil: attend everywhere).
  static func keyMask(_ inputs: EncoderInputs, device: Device, model: String) throws -> Tensor? {
    guard let m = inputs.attentionMask else { return nil }
    try EncoderInputCheck.shape(m, "attention_mask", like: inputs.inputIds, model: model)
    let (b, s) = (m.shape[0], m.shape[1])
    return m.to(device: device).to(.bool).reshape([b, 1, 1, s])
  }
}

/// `BertPredictionHeadTransform`: dense, activation, LayerNorm.
public final class BertPredictionHeadTransform: Module {
  @Child public var dense: Linear
  @Child public var LayerNorm: LoomNN.LayerNorm
  let activation: Activation

  init(_ config: BertConfig) {
    dense = Linear(config.hiddenSize, config.hiddenSize)
    LayerNorm = LoomNN.LayerNorm(config.hiddenSize, eps: config.layerNormEps)
    activation = config.hiddenAct
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor { LayerNorm(activation(dense(x))) }
}

/// `BertLMPredictionHead`: transform, then the decoder tied to the word embeddings plus
/// `bias` (HF's `cls.predictions.decoder` is that weight and this bias). With
/// `tie_word_embeddings` false, `decoder` is its own Linear (weight and bias), as in
/// transformers 5, and `bias` is kept only so checkpoints keep HF's names.
public final class BertLMPredictionHead: Module {
  @Child public var transform: BertPredictionHeadTransform
  @Parameter public var bias: Tensor
  @Child public var decoder: Linear?

  init(_ config: BertConfig) {
    transform = BertPredictionHeadTransform(config)
    bias = Tensor.zeros([config.vocabSize]).requiringGrad()
    decoder = config.tieWordEmbeddings ? nil : Linear(config.hiddenSize, config.vocabSize)
    super.init()
  }

  /// `tied`: the word embeddings, used when there is no own decoder.
  func callAsFunction(_ x: Tensor, decoder tied: Tensor) -> Tensor {
    if let decoder { return decoder(transform(x)) }
    return linear(transform(x), weight: tied, bias: bias)
  }
}

/// `BertOnlyMLMHead` (`cls` of BertForMaskedLM).
public final class BertOnlyMLMHead: Module {
  @Child public var predictions: BertLMPredictionHead
  init(_ config: BertConfig) {
    predictions = BertLMPredictionHead(config)
    super.init()
  }
}

/// `BertPreTrainingHeads` (`cls` of BertForPreTraining): masked-LM and next-sentence.
public final class BertPreTrainingHeads: Module {
  @Child public var predictions: BertLMPredictionHead
  @Child public var seq_relationship: Linear
  init(_ config: BertConfig) {
    predictions = BertLMPredictionHead(config)
    seq_relationship = Linear(config.hiddenSize, 2)
    super.init()
  }
}

/// Masked-LM logits and loss for any head of the form transform + tied decoder.
enum MaskedLMHead {
  /// Full logits [B, S, V] (HF), or logits of labelled rows when asked and labels are given.
  static func run(
    _ hidden: Tensor, labels: Tensor?, onlyLabelled: Bool, head: (Tensor) -> Tensor
  ) -> (logits: Tensor, loss: Tensor?) {
    if let labels, onlyLabelled {
      let (rows, targets) = HeadLoss.labelledRows(hidden, labels: labels)
      let logits = head(rows)
      return (logits, crossEntropy(logits, targets))
    }
    let logits = head(hidden)
    return (logits, labels.map { HeadLoss.maskedLM(logits, $0) })
  }
}
