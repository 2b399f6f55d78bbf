import Foundation
import LoomCore
import LoomNN

/// `LlamaForSequenceClassification`: `score` (no bias) on the hidden state of each row's
/// last non-pad token (by pad_token_id, so left and right padding both work, as
/// transformers 5 pools); HF's problem_type rule for the loss.
public final class LlamaForSequenceClassification: Module, EncoderModel {
  @Child public var model: LlamaModel
  @Child public var score: Linear
  public let config: LlamaConfig

  public init(_ config: LlamaConfig) throws {
    model = try LlamaModel(config)
    score = Linear(config.hiddenSize, config.numLabels, bias: false)
    self.config = config
    super.init()
    LlamaInit.apply(score, config)
  }

  public var maxSequenceLength: Int { model.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out: EncoderOutput
    let rows: [Int]
    if let embeds = inputs.inputsEmbeds {
      // HF without input_ids (prompt tuning): positions 0..<T and every row pooled at its
      // last column, since padding cannot be seen.
      try Self.checkEmbeds(embeds, inputs, hiddenSize: config.hiddenSize, model: "Llama")
      rows = try Self.lastColumns(embeds, padTokenId: config.padTokenId)
      out = EncoderOutput()
      out.lastHiddenState = model(inputsEmbeds: embeds, attentionMask: inputs.attentionMask)
    } else {
      out = try model.forward(inputs)
      rows = try Self.lastNonPadIndices(inputs.inputIds, padTokenId: config.padTokenId)
    }
    let hidden = out.lastHiddenState!
    let (b, t, c) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
    let index = Tensor(
      rows.enumerated().map { Int64($0.offset * t + $0.element) }, shape: [b], device: hidden.device
    )
    let logits = score(hidden.reshape([b * t, c]).indexSelect(dim: 0, index: index))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.sequenceClassification(
        logits, labels.to(device: logits.device), numLabels: config.numLabels,
        problemType: config.labels.problemType)
    }
    return out
  }

  /// The rightmost column whose id is not pad_token_id (0 when a row is all padding);
  /// without a pad token only a batch of one can be pooled (its last column).
  public static func lastNonPadIndices(_ ids: Tensor, padTokenId: Int?) throws -> [Int] {
    let (b, t) = (ids.shape[0], ids.shape[1])
    guard let pad = padTokenId else {
      guard b == 1 else {
        throw LoomError(
          "LlamaForSequenceClassification: cannot pool a batch of \(b) without a padding token; set pad_token_id in config.json (transformers raises the same)"
        )
      }
      return [t - 1]
    }
    let v = ids.to(.int64).int64s
    return (0..<b).map { r in (0..<t).last { v[r * t + $0] != Int64(pad) } ?? 0 }
  }

  /// HF's pooling from inputs_embeds [B, T, C]: the last column of every row, with the same
  /// batch-of-one rule when there is no pad token.
  public static func lastColumns(_ embeds: Tensor, padTokenId: Int?) throws -> [Int] {
    let (b, t) = (embeds.shape[0], embeds.shape[1])
    if padTokenId == nil, b != 1 {
      throw LoomError(
        "sequence classification: cannot pool a batch of \(b) without a padding token; set pad_token_id in config.json (transformers raises the same)"
      )
    }
    return Array(repeating: t - 1, count: b)
  }

  /// inputs_embeds must be [B, T, hidden] with T > 0, and the attention mask [B, T].
  static func checkEmbeds(_ embeds: Tensor, _ inputs: EncoderInputs, hiddenSize: Int, model: String)
    throws
  {
    guard embeds.rank == 3, embeds.shape[1] > 0, embeds.shape[2] == hiddenSize else {
      throw LoomError(
        "\(model): inputs_embeds must be [batch, sequence, \(hiddenSize)] with a token or more, got shape \(embeds.shape)"
      )
    }
    if let mask = inputs.attentionMask, mask.shape != Array(embeds.shape.prefix(2)) {
      throw LoomError(
        "\(model): attention_mask must be [batch, sequence] = \(Array(embeds.shape.prefix(2))) like inputs_embeds, got \(mask.shape)"
      )
    }
  }
}

/// `LlamaForTokenClassification`: dropout (classifier_dropout, else 0.1) and `score` on every token.
public final class LlamaForTokenClassification: Module, EncoderModel {
  @Child public var model: LlamaModel
  @Child public var score: Linear
  public let config: LlamaConfig

  public init(_ config: LlamaConfig) throws {
    model = try LlamaModel(config)
    score = Linear(config.hiddenSize, config.numLabels)
    self.config = config
    super.init()
    LlamaInit.apply(score, config)
  }

  public var maxSequenceLength: Int { model.maxSequenceLength }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    var out = try model.forward(inputs)
    let logits = score(
      dropout(out.lastHiddenState!, p: config.classifierDropout ?? 0.1, training: training))
    out.logits = logits
    if let labels = inputs.labels {
      out.loss = try HeadLoss.tokenClassification(
        logits, labels.to(device: logits.device), numLabels: config.numLabels)
    }
    return out
  }
}
