import Foundation
import LoomCore
import LoomNN

/// GPT-2 in Hugging Face directories (registered as model_type "gpt2").
extension GPT2Model: PretrainedModel {
  public static func make(config: GPT2Config) throws -> Module {
    try config.validate()
    return try GPT2Model(config, generator: .global)
  }
  public static var architecture: String { "GPT2Model" }
  public static var baseModelPrefix: String { "transformer" }
  public static func fixUpCheckpoint(_ weights: inout [String: Tensor], config: GPT2Config) {
    GPT2LMHeadModel.dropAttentionMasks(&weights)
  }
}

extension GPT2LMHeadModel: PretrainedModel {
  public static func make(config: GPT2Config) throws -> Module { try GPT2LMHeadModel(config) }
  public static var architecture: String { "GPT2LMHeadModel" }
  public static var baseModelPrefix: String { "transformer" }
  /// A tied head is `transformer.wte.weight`; HF files may still hold a copy.
  public var tiedWeightKeys: [String] { config.tieWordEmbeddings ? ["lm_head.weight"] : [] }
  public static func fixUpCheckpoint(_ weights: inout [String: Tensor], config: GPT2Config) {
    dropAttentionMasks(&weights)
  }

  /// Older checkpoints store the causal mask (`attn.bias`) and `attn.masked_bias` as buffers.
  static func dropAttentionMasks(_ weights: inout [String: Tensor]) {
    for k in weights.keys where k.hasSuffix(".attn.bias") || k.hasSuffix(".attn.masked_bias") { weights[k] = nil }
  }

  /// Loads a directory written by `save_pretrained` (or by `save(to:)`).
  public static func load(from directory: String) throws -> GPT2LMHeadModel { try fromPretrained(directory) }

  /// Writes config.json and model.safetensors (HF names, a tied lm_head omitted).
  public func save(to directory: String) throws { try savePretrained(to: directory) }
}


/// HF's `GPT2ForSequenceClassification`: `score` (no bias) on the hidden state of each row's last
/// token that is not pad_token_id (left and right padding both work); without a pad token only a
/// batch of one can be pooled (HF raises the same). HF's problem_type rule for the loss.
public final class GPT2ForSequenceClassification: Module, EncoderModel {
  @Child public var transformer: GPT2Model
  @Child public var score: Linear
  public let config: GPT2Config

  public init(_ config: GPT2Config, generator: Generator = .global) throws {
    try config.validate()
    transformer = try GPT2Model(config, generator: generator)
    score = Linear(config.nEmbd, config.numLabels, bias: false)
    self.config = config
    super.init()
    EncoderInit.apply(score, std: config.initializerRange, paddingIdx: nil)
  }

  public var maxSequenceLength: Int { config.nPositions }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    let name = "GPT2ForSequenceClassification"
    if let embeds = inputs.inputsEmbeds {
      // HF without input_ids (prompt tuning): positions 0..<T and every row pooled at its last
      // column, since padding cannot be seen.
      try LlamaForSequenceClassification.checkEmbeds(embeds, inputs, hiddenSize: config.nEmbd, model: "GPT-2")
      guard embeds.shape[1] <= config.nPositions else {
        throw LoomError(
          "\(name): \(embeds.shape[1]) positions (virtual tokens included) are more than n_positions = \(config.nPositions); truncate the input (max_length)")
      }
      let hidden = transformer(inputsEmbeds: embeds, attentionMask: inputs.attentionMask)
      return try pooled(hidden, rows: try LlamaForSequenceClassification.lastColumns(embeds, padTokenId: config.padTokenId), labels: inputs.labels)
    }
    let ids = inputs.inputIds
    guard ids.rank == 2, ids.shape[1] > 0 else {
      throw LoomError("\(name): input_ids must be [batch, sequence] with at least one token, got shape \(ids.shape)")
    }
    _ = try EncoderInputCheck.ids(ids, name: "input_ids", below: config.vocabSize, field: "vocab_size", model: name)
    try EncoderInputCheck.shape(inputs.attentionMask, "attention_mask", like: ids, model: name)
    guard ids.shape[1] <= config.nPositions else {
      throw LoomError(
        "\(name): sequence of \(ids.shape[1]) tokens is longer than n_positions = \(config.nPositions); truncate the input (max_length)")
    }
    try EncoderInputCheck.shape(inputs.tokenTypeIds, "token_type_ids", like: ids, model: name)
    // HF's forward counts positions 0..<T whatever the mask (Loom's ids path derives them from
    // the mask, as generation does), so run from the looked-up embeddings.
    let device = transformer.wte.weight.device
    var words = transformer.wte(ids.to(device: device))
    // HF's GPT-2 embeds token_type_ids with the word table (its tokenizer returns none).
    if let tt = inputs.tokenTypeIds {
      _ = try EncoderInputCheck.ids(tt, name: "token_type_ids", below: config.vocabSize, field: "vocab_size", model: name)
      words = words + transformer.wte(tt.to(.int64).to(device: device))
    }
    let hidden = transformer(inputsEmbeds: words, attentionMask: inputs.attentionMask)
    return try pooled(hidden, rows: try Self.lastNonPadIndices(ids, padTokenId: config.padTokenId), labels: inputs.labels)
  }

  /// `score` on each row's hidden state at `rows`, and the loss when labels are given.
  private func pooled(_ hidden: Tensor, rows: [Int], labels: Tensor?) throws -> EncoderOutput {
    let (b, t, c) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
    let index = Tensor(rows.enumerated().map { Int64($0.offset * t + $0.element) }, shape: [b], device: hidden.device)
    let logits = score(hidden.reshape([b * t, c]).indexSelect(dim: 0, index: index))
    var out = EncoderOutput()
    out.lastHiddenState = hidden
    out.logits = logits
    if let labels {
      out.loss = try HeadLoss.sequenceClassification(
        logits, labels.to(device: logits.device), numLabels: config.numLabels,
        problemType: config.labels.problemType)
    }
    return out
  }

  /// The rightmost column whose id is not pad_token_id (0 when a row is all padding).
  public static func lastNonPadIndices(_ ids: Tensor, padTokenId: Int?) throws -> [Int] {
    guard padTokenId != nil || ids.shape[0] == 1 else {
      throw LoomError(
        "GPT2ForSequenceClassification: Cannot handle batch sizes > 1 if no padding token is defined (transformers' error); set pad_token_id in config.json (GPT-2 usually pads with its eos_token_id)"
      )
    }
    return try LlamaForSequenceClassification.lastNonPadIndices(ids, padTokenId: padTokenId)
  }
}

extension GPT2ForSequenceClassification: PretrainedModel {
  public static func make(config: GPT2Config) throws -> Module { try GPT2ForSequenceClassification(config) }
  public static var architecture: String { "GPT2ForSequenceClassification" }
  public static var baseModelPrefix: String { "transformer" }
  /// A causal-LM checkpoint's head is dropped and `score` starts fresh (noted), as HF does.
  public static func fixUpCheckpoint(_ weights: inout [String: Tensor], config: GPT2Config) {
    GPT2LMHeadModel.dropAttentionMasks(&weights)
    LlamaCheckpoint.fixUp(&weights, keep: "score.", className: "GPT2ForSequenceClassification") {
      let head = Linear(config.nEmbd, config.numLabels, bias: false)
      EncoderInit.apply(head, std: config.initializerRange, paddingIdx: nil)
      return head
    }
  }
}
