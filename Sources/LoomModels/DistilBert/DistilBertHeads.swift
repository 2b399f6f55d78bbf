import Foundation
import LoomCore
import LoomNN

/// `DistilBertForMaskedLM`: vocab_transform, activation, vocab_layer_norm, and
/// vocab_projector (weight tied to the word embeddings, its own bias).
public final class DistilBertForMaskedLM: Module, EncoderModel {
  @Child public var distilbert: DistilBertModel
  @Child public var vocab_transform: Linear
  @Child public var vocab_layer_norm: LayerNorm
  @Child public var vocab_projector: DistilBertVocabProjector
  public let config: DistilBertConfig

  public init(_ config: DistilBertConfig) throws {
    distilbert = try DistilBertModel(config, name: "DistilBertForMaskedLM")
    vocab_transform = Linear(config.dim, config.dim)
    vocab_layer_norm = LayerNorm(config.dim, eps: DistilBertConfig.layerNormEps)
    vocab_projector = DistilBertVocabProjector(config)
    self.config = config
    super.init()
    EncoderInit.apply(vocab_transform, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { distilbert.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try distilbert.forward(inputs)
    let decoder = distilbert.embeddings.word_embeddings.weight
    (out.logits, out.loss) = MaskedLMHead.run(
      out.lastHiddenState!, labels: inputs.labels, onlyLabelled: inputs.onlyLabelledLogits
    ) { h in
      linear(
        vocab_layer_norm(config.activation(vocab_transform(h))), weight: vocab_projector.weight ?? decoder,
        bias: vocab_projector.bias)
    }
    return out
  }
}

/// `vocab_projector`: its bias, and its own weight [vocab, dim] only when
/// `tie_word_embeddings` is false (else the weight is the word embeddings).
public final class DistilBertVocabProjector: Module {
  @Parameter public var weight: Tensor?
  @Parameter public var bias: Tensor
  init(_ config: DistilBertConfig) {
    weight =
      config.tieWordEmbeddings
      ? nil : Tensor.randn([config.vocabSize, config.dim], std: config.initializerRange).requiringGrad()
    bias = Tensor.zeros([config.vocabSize]).requiringGrad()
    super.init()
  }
}

/// `DistilBertForSequenceClassification`: first token, pre_classifier, ReLU, dropout
/// (seq_classif_dropout), classifier.
public final class DistilBertForSequenceClassification: Module, EncoderModel {
  @Child public var distilbert: DistilBertModel
  @Child public var pre_classifier: Linear
  @Child public var classifier: Linear
  public let config: DistilBertConfig

  public init(_ config: DistilBertConfig) throws {
    distilbert = try DistilBertModel(config, name: "DistilBertForSequenceClassification")
    pre_classifier = Linear(config.dim, config.dim)
    classifier = Linear(config.dim, config.numLabels)
    self.config = config
    super.init()
    for m in [pre_classifier, classifier] { EncoderInit.apply(m, std: config.initializerRange, paddingIdx: nil) }
  }

  public var maxSequenceLength: Int { distilbert.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try distilbert.forward(inputs)
    let first = out.lastHiddenState!.select(dim: 1, index: 0)
    let logits = classifier(dropout(pre_classifier(first).relu(), p: config.seqClassifDropout, training: training))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.sequenceClassification(
        logits, labels.to(device: logits.device), numLabels: config.numLabels, problemType: config.labels.problemType)
    }
    return out
  }
}

/// `DistilBertForTokenClassification`: dropout (config.dropout) and classifier.
public final class DistilBertForTokenClassification: Module, EncoderModel {
  @Child public var distilbert: DistilBertModel
  @Child public var classifier: Linear
  public let config: DistilBertConfig

  public init(_ config: DistilBertConfig) throws {
    distilbert = try DistilBertModel(config, name: "DistilBertForTokenClassification")
    classifier = Linear(config.dim, config.numLabels)
    self.config = config
    super.init()
    EncoderInit.apply(classifier, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { distilbert.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try distilbert.forward(inputs)
    let logits = classifier(dropout(out.lastHiddenState!, p: config.dropout, training: training))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.tokenClassification(logits, labels.to(device: logits.device), numLabels: config.numLabels)
    }
    return out
  }
}

/// `DistilBertForQuestionAnswering`: dropout (qa_dropout) and qa_outputs.
public final class DistilBertForQuestionAnswering: Module, EncoderModel {
  @Child public var distilbert: DistilBertModel
  @Child public var qa_outputs: Linear
  public let config: DistilBertConfig

  public init(_ config: DistilBertConfig) throws {
    distilbert = try DistilBertModel(config, name: "DistilBertForQuestionAnswering")
    qa_outputs = Linear(config.dim, 2)
    self.config = config
    super.init()
    EncoderInit.apply(qa_outputs, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { distilbert.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try distilbert.forward(inputs)
    try QAHead.apply(qa_outputs(dropout(out.lastHiddenState!, p: config.qaDropout, training: training)), inputs, into: &out)
    return out
  }
}
