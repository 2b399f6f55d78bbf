import Foundation
import LoomCore
import LoomNN

/// `BloomForSequenceClassification`: `score` (no bias) on every token, pooled at each row's
/// last non-padding token as transformers 5 does (the last index whose id is not pad_token_id;
/// without a pad_token_id only a batch of one, pooled at its last token); HF's problem_type loss.
public final class BloomForSequenceClassification: Module, EncoderModel {
  @Child public var transformer: BloomModel
  @Child public var score: Linear
  public let config: BloomConfig

  public init(_ config: BloomConfig) throws {
    transformer = try BloomModel(config, initialise: false)
    score = Linear(config.hiddenSize, config.numLabels, bias: false)
    self.config = config
    super.init()
    EncoderInit.apply(self, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { transformer.maxSequenceLength }

  /// Each row's pooled position: HF's argmax(arange · (ids != pad)).
  public static func lastTokens(_ ids: Tensor, padTokenId: Int?) throws -> [Int] {
    let (b, t) = (ids.shape[0], ids.shape[1])
    guard let pad = padTokenId.map(Int64.init) else {
      guard b == 1 else {
        throw LoomError(
          "BloomForSequenceClassification: a batch of \(b) needs pad_token_id in config.json to find each row's last token (HF: \"Cannot handle batch sizes > 1 if no padding token is defined\")"
        )
      }
      return [t - 1]
    }
    let v = ids.to(.int64).int64s
    return (0..<b).map { r in (0..<t).last { v[r * t + $0] != pad } ?? 0 }
  }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out: EncoderOutput
    let rows: [Int]
    if let embeds = inputs.inputsEmbeds {
      // HF without input_ids (prompt tuning): every row pooled at its last column.
      try LlamaForSequenceClassification.checkEmbeds(
        embeds, inputs, hiddenSize: config.hiddenSize, model: "Bloom")
      rows = try LlamaForSequenceClassification.lastColumns(embeds, padTokenId: config.padTokenId)
      out = EncoderOutput()
      out.lastHiddenState =
        transformer.hiddenStates(inputsEmbeds: embeds, attentionMask: inputs.attentionMask).last
    } else {
      try BloomInputs.check(inputs, config: config)
      rows = try Self.lastTokens(inputs.inputIds, padTokenId: config.padTokenId)
      out = try transformer.forward(inputs)
    }
    let t = out.lastHiddenState!.shape[1]
    let flat = out.lastHiddenState!.reshape([-1, config.hiddenSize])
    let index = Tensor(
      rows.enumerated().map { Int64($0.offset * t + $0.element) }, shape: [rows.count],
      device: flat.device)
    // Scoring only the pooled rows gives HF's pooled logits without the [B, T, labels] tensor.
    let logits = score(flat.indexSelect(dim: 0, index: index))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.sequenceClassification(
        logits, labels.to(device: logits.device), numLabels: config.numLabels,
        problemType: config.labels.problemType)
    }
    return out
  }
}

/// `BloomForTokenClassification`: dropout (classifier_dropout, else hidden_dropout) and
/// `classifier` on every token; cross-entropy with −100 ignored.
public final class BloomForTokenClassification: Module, EncoderModel {
  @Child public var transformer: BloomModel
  @Child public var classifier: Linear
  public let config: BloomConfig

  public init(_ config: BloomConfig) throws {
    transformer = try BloomModel(config, initialise: false)
    classifier = Linear(config.hiddenSize, config.numLabels)
    self.config = config
    super.init()
    EncoderInit.apply(self, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { transformer.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try transformer.forward(inputs)
    let logits = classifier(
      dropout(
        out.lastHiddenState!, p: config.classifierDropout ?? config.hiddenDropout,
        training: training))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.tokenClassification(
        logits, labels.to(device: logits.device), numLabels: config.numLabels)
    }
    return out
  }
}
