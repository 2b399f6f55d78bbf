import Foundation
import LoomCore
import LoomNN

/// `BertForMaskedLM`: the trunk without pooler and `cls.predictions` tied to the word embeddings.
public final class BertForMaskedLM: Module, EncoderModel {
  @Child public var bert: BertModel
  @Child public var cls: BertOnlyMLMHead
  public let config: BertConfig

  public init(_ config: BertConfig) throws {
    bert = try BertModel(config, addPoolingLayer: false, name: "BertForMaskedLM")
    cls = BertOnlyMLMHead(config)
    self.config = config
    super.init()
    EncoderInit.apply(cls, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { bert.maxSequenceLength }

  /// logits [B, S, V] and, with labels (−100 ignored), the masked-LM loss.
  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try bert.forward(inputs)
    let decoder = bert.embeddings.word_embeddings.weight
    (out.logits, out.loss) = MaskedLMHead.run(
      out.lastHiddenState!, labels: inputs.labels, onlyLabelled: inputs.onlyLabelledLogits
    ) { cls.predictions($0, decoder: decoder) }
    return out
  }
}

/// `BertForPreTraining`: masked-LM and next-sentence heads; the loss is their sum when
/// both `labels` and `next_sentence_label` (0 = continuation) are given.
public final class BertForPreTraining: Module, EncoderModel {
  @Child public var bert: BertModel
  @Child public var cls: BertPreTrainingHeads
  public let config: BertConfig

  public init(_ config: BertConfig) throws {
    bert = try BertModel(config, addPoolingLayer: true, name: "BertForPreTraining")
    cls = BertPreTrainingHeads(config)
    self.config = config
    super.init()
    EncoderInit.apply(cls, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { bert.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try bert.forward(inputs)
    let decoder = bert.embeddings.word_embeddings.weight
    let both = inputs.labels != nil && inputs.nextSentenceLabel != nil
    let (logits, mlm) = MaskedLMHead.run(
      out.lastHiddenState!, labels: both ? inputs.labels : nil, onlyLabelled: inputs.onlyLabelledLogits
    ) { cls.predictions($0, decoder: decoder) }
    out.predictionLogits = logits
    let nsp = cls.seq_relationship(out.poolerOutput!)
    out.seqRelationshipLogits = nsp
    if both, let mlm, let nsl = inputs.nextSentenceLabel {
      let targets = nsl.to(.int64).reshape([-1]).to(device: nsp.device)
      if let bad = targets.int64s.first(where: { $0 != 0 && $0 != 1 }) {
        throw LoomError("BertForPreTraining: next_sentence_label must be 0 (continuation) or 1 (random), got \(bad)")
      }
      out.loss = mlm + crossEntropy(nsp, targets)
    }
    return out
  }
}

/// `BertForSequenceClassification`: pooler output, dropout, `classifier`; HF's
/// problem_type rule for the loss.
public final class BertForSequenceClassification: Module, EncoderModel {
  @Child public var bert: BertModel
  @Child public var classifier: Linear
  public let config: BertConfig

  public init(_ config: BertConfig) throws {
    bert = try BertModel(config, addPoolingLayer: true, name: "BertForSequenceClassification")
    classifier = Linear(config.hiddenSize, config.numLabels)
    self.config = config
    super.init()
    EncoderInit.apply(classifier, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { bert.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try bert.forward(inputs)
    let logits = classifier(dropout(out.poolerOutput!, p: config.classifierDropoutProb, training: training))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.sequenceClassification(
        logits, labels.to(device: logits.device), numLabels: config.numLabels, problemType: config.labels.problemType)
    }
    return out
  }
}

/// `BertForTokenClassification`: dropout and `classifier` on every token.
public final class BertForTokenClassification: Module, EncoderModel {
  @Child public var bert: BertModel
  @Child public var classifier: Linear
  public let config: BertConfig

  public init(_ config: BertConfig) throws {
    bert = try BertModel(config, addPoolingLayer: false, name: "BertForTokenClassification")
    classifier = Linear(config.hiddenSize, config.numLabels)
    self.config = config
    super.init()
    EncoderInit.apply(classifier, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { bert.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try bert.forward(inputs)
    let logits = classifier(dropout(out.lastHiddenState!, p: config.classifierDropoutProb, training: training))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.tokenClassification(logits, labels.to(device: logits.device), numLabels: config.numLabels)
    }
    return out
  }
}

/// `BertForQuestionAnswering`: `qa_outputs` gives start and end logits; the loss is
/// HF's (positions clamped to the sequence, out-of-range ignored, mean of both).
public final class BertForQuestionAnswering: Module, EncoderModel {
  @Child public var bert: BertModel
  @Child public var qa_outputs: Linear
  public let config: BertConfig

  public init(_ config: BertConfig) throws {
    bert = try BertModel(config, addPoolingLayer: false, name: "BertForQuestionAnswering")
    qa_outputs = Linear(config.hiddenSize, 2)
    self.config = config
    super.init()
    EncoderInit.apply(qa_outputs, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { bert.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try bert.forward(inputs)
    try QAHead.apply(qa_outputs(out.lastHiddenState!), inputs, into: &out)
    return out
  }
}

enum QAHead {
  /// Splits [B, S, 2] logits into start/end and adds HF's loss when positions are given.
  static func apply(_ logits: Tensor, _ inputs: EncoderInputs, into out: inout EncoderOutput) throws {
    let start = logits.select(dim: 2, index: 0).contiguous()
    let end = logits.select(dim: 2, index: 1).contiguous()
    out.startLogits = start
    out.endLogits = end
    if let s = inputs.startPositions, let e = inputs.endPositions {
      out.loss = HeadLoss.questionAnswering(start: start, end: end, startPositions: s, endPositions: e)
    }
  }
}
