import Foundation
import LoomCore
import LoomNN

/// An encoder's inputs by Hugging Face's names. Every tensor may live on the host: the
/// model moves it to its weights' device.
public struct EncoderInputs {
  /// HF's input names (the keys `init(named:)` reads; `Batch` uses the same).
  public enum Key {
    public static let inputIds = "input_ids"
    public static let attentionMask = "attention_mask"
    public static let tokenTypeIds = "token_type_ids"
    public static let positionIds = "position_ids"
    public static let labels = "labels"
    public static let nextSentenceLabel = "next_sentence_label"
    public static let startPositions = "start_positions"
    public static let endPositions = "end_positions"
  }

  /// [B, S] token ids. With `inputsEmbeds` only its shape is read (it sizes the masks).
  public var inputIds: Tensor
  /// [B, S, C] embeddings used instead of looking up `inputIds` (HF's `inputs_embeds`; prompt
  /// tuning puts its virtual tokens in front of the words' embeddings). Positions then count
  /// 0..<S (RoBERTa: padding_idx + 1 onwards), as HF does when it cannot see padding.
  public var inputsEmbeds: Tensor?
  /// [B, S], 1 for real tokens and 0 for padding.
  public var attentionMask: Tensor?
  public var tokenTypeIds: Tensor?
  public var positionIds: Tensor?
  /// MLM / token labels [B, S] (−100 ignored), class ids [B] or targets [B, num_labels].
  public var labels: Tensor?
  /// [B], 0 = sentence B continues sentence A, 1 = random sentence.
  public var nextSentenceLabel: Tensor?
  public var startPositions: Tensor?
  public var endPositions: Tensor?
  /// Also return every layer's hidden states (HF's `output_hidden_states`).
  public var outputHiddenStates = false
  /// Masked-LM heads with labels compute logits only for labelled positions (the loss
  /// is identical; `logits` is then [N, vocab] for the N positions whose label is not −100).
  public var onlyLabelledLogits = false

  public init(
    inputIds: Tensor, attentionMask: Tensor? = nil, tokenTypeIds: Tensor? = nil, positionIds: Tensor? = nil,
    labels: Tensor? = nil, nextSentenceLabel: Tensor? = nil, startPositions: Tensor? = nil,
    endPositions: Tensor? = nil, outputHiddenStates: Bool = false
  ) {
    self.inputIds = inputIds
    self.attentionMask = attentionMask
    self.tokenTypeIds = tokenTypeIds
    self.positionIds = positionIds
    self.labels = labels
    self.nextSentenceLabel = nextSentenceLabel
    self.startPositions = startPositions
    self.endPositions = endPositions
    self.outputHiddenStates = outputHiddenStates
  }

  /// HF's `model(inputs_embeds=…)`: `inputsEmbeds` [B, S, C]; `inputIds` is a [B, S] placeholder.
  public init(
    inputsEmbeds: Tensor, attentionMask: Tensor? = nil, tokenTypeIds: Tensor? = nil, labels: Tensor? = nil
  ) {
    let shape = Array(inputsEmbeds.shape.prefix(2))
    self.init(
      inputIds: Tensor.zeros(shape.count == 2 ? shape : [0, 0], dtype: .int64), attentionMask: attentionMask,
      tokenTypeIds: tokenTypeIds, labels: labels)
    self.inputsEmbeds = inputsEmbeds
  }

  /// From named tensors (a `Batch`'s `tensors`); `input_ids` is required.
  public init(named t: [String: Tensor]) throws {
    guard let ids = t[Key.inputIds] else {
      throw LoomError("encoder inputs need input_ids (got \(t.keys.sorted().joined(separator: ", ")))")
    }
    self.init(
      inputIds: ids, attentionMask: t[Key.attentionMask], tokenTypeIds: t[Key.tokenTypeIds],
      positionIds: t[Key.positionIds], labels: t[Key.labels], nextSentenceLabel: t[Key.nextSentenceLabel],
      startPositions: t[Key.startPositions], endPositions: t[Key.endPositions])
  }
}

/// What an encoder or one of its heads returns, with HF's output field names; fields a
/// model does not produce are nil.
public struct EncoderOutput {
  public var loss: Tensor?
  /// [B, S, C] (base models; heads set it too).
  public var lastHiddenState: Tensor?
  /// [B, C] (BERT-style pooler).
  public var poolerOutput: Tensor?
  /// Embeddings output then each layer's output, when asked for.
  public var hiddenStates: [Tensor]?
  /// Masked-LM, classification and token-classification logits.
  public var logits: Tensor?
  public var startLogits: Tensor?
  public var endLogits: Tensor?
  /// `BertForPreTraining`'s heads.
  public var predictionLogits: Tensor?
  public var seqRelationshipLogits: Tensor?

  public init() {}

  /// The head's main logits: `logits`, else `prediction_logits`, else start and end
  /// stacked as [B, S, 2], else the last hidden state.
  public var mainLogits: Tensor {
    if let logits { return logits }
    if let predictionLogits { return predictionLogits }
    if let startLogits, let endLogits { return Tensor.stack([startLogits, endLogits], dim: -1) }
    return lastHiddenState!
  }
}

/// An encoder model or head called with named inputs: one entry point for the Trainer,
/// pipelines and the CLI.
public protocol EncoderModel: Module {
  /// Runs the model; bad ids, positions or shapes are thrown as clear errors.
  func forward(_ inputs: EncoderInputs) throws -> EncoderOutput
  /// The base model's maximum sequence length (its position table).
  var maxSequenceLength: Int { get }
}

extension EncoderModel {
  /// The Trainer's `lossAndLogits:` closure body: `{ b in model.lossAndLogits(b.tensors) }`.
  /// Inputs are expected to be valid (datasets check them); a bad batch stops with the message.
  public func lossAndLogits(_ tensors: [String: Tensor], onlyLabelledLogits: Bool = false) -> (loss: Tensor, logits: Tensor) {
    do {
      var inputs = try EncoderInputs(named: tensors)
      inputs.onlyLabelledLogits = onlyLabelledLogits
      let out = try forward(inputs)
      guard let loss = out.loss else {
        throw LoomError("\(type(of: self)) computed no loss: the batch needs its labels (got \(tensors.keys.sorted()))")
      }
      return (loss, out.mainLogits)
    } catch {
      fatalError("Loom: \(error)")
    }
  }
}

/// Checks of encoder inputs made on the host before any lookup, so a bad id is a
/// thrown error naming the field, not a trap inside an op.
enum EncoderInputCheck {
  static func ids(_ t: Tensor, name: String, below limit: Int, field: String, model: String) throws -> [Int64] {
    guard t.dtype == .int64 || t.dtype == .int32 else {
      throw LoomError("\(model): \(name) must be int64 or int32 token ids, got \(t.dtype)")
    }
    let v = t.to(.int64).int64s
    if let bad = v.first(where: { $0 < 0 || $0 >= Int64(limit) }) {
      throw LoomError(
        "\(model): \(name) holds \(bad), outside 0..<\(limit) (the config's \(field)); does the tokenizer match the model?")
    }
    return v
  }

  /// `inputs_embeds` must be [B, S, width] with S ≥ 1.
  static func embeds(_ e: Tensor, width: Int, model: String) throws {
    guard e.rank == 3, e.shape[1] > 0, e.shape[2] == width else {
      throw LoomError(
        "\(model): inputs_embeds must be [batch, sequence, \(width)] (the hidden size) with at least one position, got shape \(e.shape)"
      )
    }
  }

  static func shape(_ t: Tensor?, _ name: String, like ids: Tensor, model: String) throws {
    if let t, t.shape != ids.shape {
      throw LoomError("\(model): \(name) has shape \(t.shape), input_ids has \(ids.shape)")
    }
  }
}

/// nn.Embedding's `padding_idx`: the padding row gets no gradient. The lookup's values
/// stay as they are; rows at padding tokens pass a detached copy.
enum PaddingRow {
  /// `x` [B, S, C] looked up from `ids` (host values, row-major [B, S]).
  static func stopGradient(_ x: Tensor, ids: [Int64], paddingIdx: Int?) -> Tensor {
    guard let pad = paddingIdx, x.requiresGrad, ids.contains(Int64(pad)) else { return x }
    let keep = Tensor(ids.map { $0 == Int64(pad) ? Float(0) : 1 }, shape: [x.shape[0], x.shape[1], 1], device: x.device)
      .to(x.dtype)
    return x * keep + x.detach() * (1 - keep)
  }
}
