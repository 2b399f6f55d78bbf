import Foundation
import LoomCore
import LoomNN

/// `BartForConditionalGeneration`: `BartModel`, an LM head tied to `shared` (its own
/// `lm_head` when tie_word_embeddings is false) and the `final_logits_bias` buffer.
public final class BartForConditionalGeneration: Module, EncoderDecoderModel {
  @Child public var model: BartModel
  @Child public var lm_head: Linear?
  /// [1, vocab], added to the logits; a buffer (saved, never trained), zeros by default.
  @Buffer public var final_logits_bias: Tensor
  public let config: BartConfig

  public init(_ config: BartConfig) throws {
    model = try BartModel(config)
    let head = config.tieWordEmbeddings ? nil : Linear(config.dModel, config.vocabSize, bias: false)
    if let head {
      noGrad { EncoderInit.normal(head.weight, std: config.initStd, generator: .global) }
    }
    lm_head = head
    final_logits_bias = Tensor.zeros([1, config.vocabSize])
    self.config = config
    super.init()
  }

  /// Logits [B, T, V] from decoder hidden states.
  func logits(_ hidden: Tensor) -> Tensor {
    linear(hidden, weight: lm_head?.weight ?? model.shared.weight) + final_logits_bias
  }

  /// HF's forward: with `labels` [B, T] (−100 ignored) and no `decoderInputIds`, the
  /// decoder reads the labels shifted right after decoder_start_token_id; the loss is the
  /// mean cross-entropy over labelled positions.
  public func forward(
    inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil,
    decoderAttentionMask: Tensor? = nil, labels: Tensor? = nil
  ) throws -> BartOutput {
    let dec = try decoderIds(decoderInputIds, labels: labels) ?? BartModel.shiftTokensRight(inputIds, config)
    let enc = try model.encode(inputIds, attentionMask: attentionMask)
    return try decoding(
      enc, attentionMask: attentionMask, decoderInputIds: dec, decoderAttentionMask: decoderAttentionMask,
      labels: labels)
  }

  /// The same from HF's `inputs_embeds` [B, S, d_model] (prompt tuning's entry); the decoder needs
  /// `decoderInputIds` or `labels`.
  public func forward(
    inputsEmbeds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil,
    decoderAttentionMask: Tensor? = nil, labels: Tensor? = nil
  ) throws -> BartOutput {
    guard let dec = try decoderIds(decoderInputIds, labels: labels) else {
      throw LoomError("BART: with inputs_embeds, pass labels or decoder_input_ids for the decoder")
    }
    let enc = try model.encode(inputsEmbeds: inputsEmbeds, attentionMask: attentionMask)
    return try decoding(
      enc, attentionMask: attentionMask, decoderInputIds: dec, decoderAttentionMask: decoderAttentionMask,
      labels: labels)
  }

  /// `decoderInputIds`, else `labels` [B, T] shifted right after decoder_start_token_id, else nil.
  func decoderIds(_ decoderInputIds: Tensor?, labels: Tensor?) throws -> Tensor? {
    if let labels, labels.rank != 2 {
      throw LoomError("BART: labels must be [batch, target length], got shape \(labels.shape)")
    }
    return try decoderInputIds ?? labels.map { try BartModel.shiftTokensRight($0, config) }
  }

  /// The decoder, LM head and loss over encoder outputs `enc`.
  func decoding(
    _ enc: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor, decoderAttentionMask: Tensor?, labels: Tensor?
  ) throws -> BartOutput {
    let h = try model.decode(
      decoderInputIds, decoderAttentionMask: decoderAttentionMask, encoderHiddenStates: enc,
      encoderMask: attentionMask)
    var out = BartOutput(lastHiddenState: h, encoderLastHiddenState: enc)
    let logits = self.logits(h)
    out.logits = logits
    if let labels {
      out.loss = try Seq2SeqLMHead.loss(
        logits: logits, labels: labels, vocabSize: config.vocabSize, model: "BART")
    }
    return out
  }

  // MARK: EncoderDecoderModel

  public var vocabularySize: Int { config.vocabSize }
  public var maxPositions: Int { config.maxPositionEmbeddings }
  public var decoderStartTokenId: Int { config.decoderStartTokenId ?? 2 }

  public func encode(ids: Tensor, attentionMask: Tensor?) -> GenerationState {
    let hidden: Tensor
    do { hidden = try model.encode(ids, attentionMask: attentionMask) } catch {
      fatalError("Loom: \(error)")
    }
    return generationState(encoded: hidden, attentionMask: attentionMask)
  }

  /// Empty decoder caches over encoder outputs `hidden`.
  func generationState(encoded hidden: Tensor, attentionMask: Tensor?) -> GenerationState {
    GenerationState(
      selfAttention: (0..<config.decoderLayers).map { _ in KVCache() },
      crossAttention: (0..<config.decoderLayers).map { _ in KVCache(isCrossAttention: true) },
      encoderHiddenStates: hidden, encoderAttentionMask: attentionMask?.to(device: hidden.device))
  }

  public func decode(ids: Tensor, state: GenerationState) -> Tensor {
    let hidden: Tensor
    do {
      hidden = try model.decode(
        ids, encoderHiddenStates: state.encoderHiddenStates!,
        encoderMask: state.encoderAttentionMask, state: state)
    } catch { fatalError("Loom: \(error)") }
    return logits(hidden)
  }
}

/// `BartClassificationHead`: dropout, dense, tanh, dropout, out_proj.
public final class BartClassificationHead: Module {
  @Child public var dense: Linear
  @Child public var out_proj: Linear
  let dropoutP: Double

  init(_ config: BartConfig) {
    dense = Linear(config.dModel, config.dModel)
    out_proj = Linear(config.dModel, config.numLabels)
    dropoutP = config.classifierDropout
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    let h = dropout(
      dense(dropout(x, p: dropoutP, training: training)).tanh(), p: dropoutP, training: training)
    return out_proj(h)
  }
}

/// `BartForSequenceClassification`: the classification head on the decoder's state at
/// each row's last eos token (the decoder reads the input shifted right).
public final class BartForSequenceClassification: Module {
  @Child public var model: BartModel
  @Child public var classification_head: BartClassificationHead
  public let config: BartConfig

  public init(_ config: BartConfig) throws {
    model = try BartModel(config)
    classification_head = BartClassificationHead(config)
    self.config = config
    super.init()
    BartInit.apply(classification_head, std: config.initStd, paddingIdx: nil)
  }

  /// Logits [B, num_labels]; `labels` as HF's problem_type says (class ids [B], floats
  /// [B] for regression, [B, num_labels] multi-label).
  public func forward(inputIds: Tensor, attentionMask: Tensor? = nil, labels: Tensor? = nil) throws
    -> BartOutput
  {
    let rows = try Self.lastEosRows(inputIds, eos: config.eosTokenId?.first)
    var out = try model.forward(inputIds: inputIds, attentionMask: attentionMask)
    let h = out.lastHiddenState
    let (b, t, c) = (h.shape[0], h.shape[1], h.shape[2])
    let index = Tensor(rows.enumerated().map { Int64($0.offset * t + $0.element) }, shape: [b]).to(
      device: h.device)
    let logits = classification_head(h.reshape([b * t, c]).indexSelect(dim: 0, index: index))
    out.logits = logits
    if let labels {
      out.loss = try HeadLoss.sequenceClassification(
        logits, labels.to(device: logits.device), numLabels: config.numLabels,
        problemType: config.labels.problemType)
    }
    return out
  }

  /// The position of each row's last eos token; every row must have the same number (≥ 1), as HF checks.
  static func lastEosRows(_ ids: Tensor, eos: Int?) throws -> [Int] {
    guard let eos else {
      throw LoomError(
        "BartForSequenceClassification: config.eos_token_id is null; it pools at the eos token")
    }
    guard ids.rank == 2 else {
      throw LoomError("BART: input_ids must be [batch, sequence], got shape \(ids.shape)")
    }
    let (b, t) = (ids.shape[0], ids.shape[1])
    let flat = ids.int64s
    var counts: [Int] = []
    var last: [Int] = []
    for r in 0..<b {
      let row = flat[(r * t)..<((r + 1) * t)]
      counts.append(row.filter { $0 == Int64(eos) }.count)
      last.append((row.lastIndex(of: Int64(eos)) ?? r * t) - r * t)
    }
    guard counts.allSatisfy({ $0 >= 1 }) else {
      throw LoomError(
        "BartForSequenceClassification: each example must contain at least one <eos> token (id \(eos))"
      )
    }
    guard Set(counts).count == 1 else {
      throw LoomError(
        "BartForSequenceClassification: all examples must have the same number of <eos> tokens (id \(eos)), got \(counts)"
      )
    }
    return last
  }
}

/// The encoders' entry point (Trainer's `lossAndLogits`, text-classification pipelines):
/// BART reads input_ids, attention_mask and labels; it has no token types.
extension BartForSequenceClassification: EncoderModel {
  public var maxSequenceLength: Int { config.maxPositionEmbeddings }

  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    if let types = inputs.tokenTypeIds, types.int64s.contains(where: { $0 != 0 }) {
      throw LoomError(
        "BartForSequenceClassification takes no token_type_ids (BART has no segment embeddings)")
    }
    let out = try forward(
      inputIds: inputs.inputIds, attentionMask: inputs.attentionMask, labels: inputs.labels)
    var result = EncoderOutput()
    result.loss = out.loss
    result.logits = out.logits
    result.lastHiddenState = out.lastHiddenState
    return result
  }
}
