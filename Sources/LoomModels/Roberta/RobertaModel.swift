import Foundation
import LoomCore
import LoomNN

/// RoBERTa's trunk (`RobertaModel`): BERT's layers and names, positions counted from
/// padding_idx + 1 over non-padding tokens (HF's create_position_ids_from_input_ids).
public final class RobertaModel: Module, EncoderModel {
  @Child public var embeddings: BertEmbeddings
  @Child public var encoder: BertEncoder
  @Child public var pooler: BertPooler?
  public let config: RobertaConfig
  let name: String

  public init(_ config: RobertaConfig, addPoolingLayer: Bool = true, name: String = "RobertaModel") throws {
    try config.validate()
    embeddings = BertEmbeddings(config.bert, robertaPaddingIdx: config.paddingIdx)
    encoder = BertEncoder(config.bert)
    pooler = addPoolingLayer ? BertPooler(config.bert) : nil
    self.config = config
    self.name = name
    super.init()
    EncoderInit.apply(self, std: config.bert.initializerRange, paddingIdx: config.paddingIdx)
    noGrad {  // HF's position table also has a padding row
      let w = embeddings.position_embeddings.weight
      var keep = [Float](repeating: 1, count: w.shape[0])
      keep[config.paddingIdx] = 0
      w.copyIn(w * Tensor(keep, shape: [w.shape[0], 1]).to(w.dtype))
    }
  }

  public var maxSequenceLength: Int { config.bert.maxPositionEmbeddings - config.paddingIdx - 1 }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    try BertModel.trunk(self, embeddings, encoder, pooler, inputs, name: name)
  }

  /// Last hidden states [B, S, C].
  public func callAsFunction(inputIds ids: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try forward(EncoderInputs(inputIds: ids, attentionMask: attentionMask)).lastHiddenState!
  }
}

/// `RobertaLMHead`: dense, exact GELU, layer_norm, decoder tied to the word embeddings plus
/// `bias`; with `tie_word_embeddings` false an own `decoder` Linear (see BertLMPredictionHead).
public final class RobertaLMHead: Module {
  @Child public var dense: Linear
  @Child public var layer_norm: LayerNorm
  @Parameter public var bias: Tensor
  @Child public var decoder: Linear?

  init(_ config: BertConfig) {
    dense = Linear(config.hiddenSize, config.hiddenSize)
    layer_norm = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
    bias = Tensor.zeros([config.vocabSize]).requiringGrad()
    decoder = config.tieWordEmbeddings ? nil : Linear(config.hiddenSize, config.vocabSize)
    super.init()
  }

  func callAsFunction(_ x: Tensor, decoder tied: Tensor) -> Tensor {
    let h = layer_norm(dense(x).gelu())
    if let decoder { return decoder(h) }
    return linear(h, weight: tied, bias: bias)
  }
}

/// `RobertaClassificationHead`: on the first token (`<s>`): dropout, dense, tanh, dropout, out_proj.
public final class RobertaClassificationHead: Module {
  @Child public var dense: Linear
  @Child public var out_proj: Linear
  let dropoutP: Double

  init(_ config: BertConfig) {
    dense = Linear(config.hiddenSize, config.hiddenSize)
    out_proj = Linear(config.hiddenSize, config.numLabels)
    dropoutP = config.classifierDropoutProb
    super.init()
  }

  override public func forward(_ hidden: Tensor) -> Tensor {
    var x = dropout(hidden.select(dim: 1, index: 0), p: dropoutP, training: training)
    x = dropout(dense(x).tanh(), p: dropoutP, training: training)
    return out_proj(x)
  }
}

/// `RobertaForMaskedLM` (also HF's AutoModelForPreTraining class for RoBERTa).
public final class RobertaForMaskedLM: Module, EncoderModel {
  @Child public var roberta: RobertaModel
  @Child public var lm_head: RobertaLMHead
  public let config: RobertaConfig

  public init(_ config: RobertaConfig) throws {
    roberta = try RobertaModel(config, addPoolingLayer: false, name: "RobertaForMaskedLM")
    lm_head = RobertaLMHead(config.bert)
    self.config = config
    super.init()
    EncoderInit.apply(lm_head, std: config.bert.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { roberta.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try roberta.forward(inputs)
    let decoder = roberta.embeddings.word_embeddings.weight
    (out.logits, out.loss) = MaskedLMHead.run(
      out.lastHiddenState!, labels: inputs.labels, onlyLabelled: inputs.onlyLabelledLogits
    ) { lm_head($0, decoder: decoder) }
    return out
  }
}

/// `RobertaForSequenceClassification`: the classification head on `<s>`.
public final class RobertaForSequenceClassification: Module, EncoderModel {
  @Child public var roberta: RobertaModel
  @Child public var classifier: RobertaClassificationHead
  public let config: RobertaConfig

  public init(_ config: RobertaConfig) throws {
    roberta = try RobertaModel(config, addPoolingLayer: false, name: "RobertaForSequenceClassification")
    classifier = RobertaClassificationHead(config.bert)
    self.config = config
    super.init()
    EncoderInit.apply(classifier, std: config.bert.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { roberta.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try roberta.forward(inputs)
    let logits = classifier(out.lastHiddenState!)
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.sequenceClassification(
        logits, labels.to(device: logits.device), numLabels: config.bert.numLabels,
        problemType: config.bert.labels.problemType)
    }
    return out
  }
}

/// `RobertaForTokenClassification`.
public final class RobertaForTokenClassification: Module, EncoderModel {
  @Child public var roberta: RobertaModel
  @Child public var classifier: Linear
  public let config: RobertaConfig

  public init(_ config: RobertaConfig) throws {
    roberta = try RobertaModel(config, addPoolingLayer: false, name: "RobertaForTokenClassification")
    classifier = Linear(config.bert.hiddenSize, config.bert.numLabels)
    self.config = config
    super.init()
    EncoderInit.apply(classifier, std: config.bert.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { roberta.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try roberta.forward(inputs)
    let logits = classifier(dropout(out.lastHiddenState!, p: config.bert.classifierDropoutProb, training: training))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.tokenClassification(logits, labels.to(device: logits.device), numLabels: config.bert.numLabels)
    }
    return out
  }
}

/// `RobertaForQuestionAnswering`.
public final class RobertaForQuestionAnswering: Module, EncoderModel {
  @Child public var roberta: RobertaModel
  @Child public var qa_outputs: Linear
  public let config: RobertaConfig

  public init(_ config: RobertaConfig) throws {
    roberta = try RobertaModel(config, addPoolingLayer: false, name: "RobertaForQuestionAnswering")
    qa_outputs = Linear(config.bert.hiddenSize, 2)
    self.config = config
    super.init()
    EncoderInit.apply(qa_outputs, std: config.bert.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { roberta.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try roberta.forward(inputs)
    try QAHead.apply(qa_outputs(out.lastHiddenState!), inputs, into: &out)
    return out
  }
}
