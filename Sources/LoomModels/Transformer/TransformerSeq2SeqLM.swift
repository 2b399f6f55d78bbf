import Foundation
import LoomCore
import LoomNN

/// What `TransformerSeq2SeqLM.forward` returns (HF's `Seq2SeqLMOutput` fields).
public struct TransformerOutput {
  /// The decoder's last hidden states [B, T, d_model] (after `decoder.norm`).
  public var lastHiddenState: Tensor
  /// The encoder's memory [B, S, d_model] (after `encoder.norm`).
  public var encoderLastHiddenState: Tensor
  public var logits: Tensor
  public var loss: Tensor?
}

/// The original Transformer as a sequence-to-sequence LM, written the way one wraps
/// `torch.nn.Transformer`: token embeddings (`shared`, or `src_embed` and `tgt_embed`)
/// scaled by √d_model, sinusoidal `positional_encoding` (buffer `pe`, dropout after the
/// sum), the `transformer` trunk with torch's names, and the output projection — the
/// target embedding when tied, else `lm_head` (no bias). Labels (−100 ignored) are
/// shifted right after decoder_start_token_id to make decoder_input_ids.
public final class TransformerSeq2SeqLM: Module, EncoderDecoderModel {
  @Child public var shared: Embedding?
  @Child public var src_embed: Embedding?
  @Child public var tgt_embed: Embedding?
  @Child public var positional_encoding: SinusoidalPositionalEncoding
  @Child public var transformer: Transformer
  @Child public var lm_head: Linear?
  public let config: TransformerConfig

  public init(_ config: TransformerConfig) throws {
    try config.validate()
    let d = config.dModel
    // fairseq's N(0, d^-1/2): embeddings times √d start at unit scale.
    func embedding(_ count: Int) -> Embedding {
      let e = Embedding(count, d)
      noGrad { e.weight.copyIn(Init.normal([count, d], std: 1 / Double(d).squareRoot())) }
      return e
    }
    shared = config.shareEmbeddings ? embedding(config.vocabSize) : nil
    src_embed = config.shareEmbeddings ? nil : embedding(config.sourceVocabSize)
    tgt_embed = config.shareEmbeddings ? nil : embedding(config.vocabSize)
    positional_encoding = SinusoidalPositionalEncoding(
      dimension: d, maxLength: config.maxPositionEmbeddings, dropout: config.dropout)
    transformer = try Transformer(
      dModel: d, nhead: config.nhead, numEncoderLayers: config.numEncoderLayers,
      numDecoderLayers: config.numDecoderLayers, dimFeedforward: config.dimFeedforward,
      dropout: config.dropout, activation: config.activation, layerNormEps: config.layerNormEps,
      normFirst: config.normFirst)
    if config.tieWordEmbeddings {
      lm_head = nil
    } else {
      let head = Linear(d, config.vocabSize, bias: false)
      noGrad { head.weight.copyIn(Init.xavierUniform([config.vocabSize, d])) }
      lm_head = head
    }
    self.config = config
    super.init()
  }

  var sourceEmbedding: Embedding { shared ?? src_embed! }
  var targetEmbedding: Embedding { shared ?? tgt_embed! }
  var device: Device { transformer.encoder.norm?.weight?.device ?? .default }

  /// Embeddings × √d_model plus the encodings of positions offset..<offset + T.
  func embed(_ ids: Tensor, _ table: Embedding, offset: Int) -> Tensor {
    positional_encoding(
      table(ids.to(device: device)) * Double(config.dModel).squareRoot(), offset: offset)
  }

  /// The encoder's memory [B, S, d_model] for `ids` [B, S] (`attentionMask`: 1 = real token).
  public func encodeSource(_ ids: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
    try TransformerInputs.check(
      ids, "input_ids", vocab: config.sourceVocabSize, maxPositions: config.maxPositionEmbeddings)
    if let m = attentionMask, m.shape != ids.shape {
      throw LoomError(
        "Transformer: attention_mask has shape \(m.shape), input_ids \(ids.shape); they must match")
    }
    return transformer.encoder(
      embedSource(ids, attentionMask: attentionMask),
      srcKeyPaddingMask: Self.padding(attentionMask, device))
  }

  /// Source embeddings whose positions count from each row's first real token, so a
  /// left-padded row (as generation pads a batch) encodes like the same row padded on the
  /// right; without left padding this is `embed(ids, offset: 0)`.
  func embedSource(_ ids: Tensor, attentionMask: Tensor?) -> Tensor {
    guard let mask = attentionMask, mask.shape[1] > 1 else {
      return embed(ids, sourceEmbedding, offset: 0)
    }
    let (b, s) = (mask.shape[0], mask.shape[1])
    let m = mask.to(device: .cpu).to(.int64).int64s
    let leads = (0..<b).map { r -> Int in (0..<s).first(where: { m[r * s + $0] != 0 }) ?? 0 }
    guard leads.contains(where: { $0 > 0 }) else { return embed(ids, sourceEmbedding, offset: 0) }
    let positions = Tensor(
      leads.flatMap { lead in (0..<s).map { Int64(Swift.max(0, $0 - lead)) } }, shape: [b, s]
    ).to(device: device)
    let pe = Tensor.embedding(positions, weight: positional_encoding.pe).to(device: device)
    let x = sourceEmbedding(ids.to(device: device)) * Double(config.dModel).squareRoot() + pe
    return dropout(x, p: positional_encoding.dropout, training: training)
  }

  /// Decoder hidden states [B, T, d_model] for `ids` after the positions `state` caches;
  /// `attentionMask` [B, past + T] (HF's decoder_attention_mask, 1 = real token) is torch's
  /// tgt_key_padding_mask inverted, applied with the causal mask.
  public func decodeTarget(
    _ ids: Tensor, attentionMask: Tensor? = nil, memory: Tensor, memoryMask: Tensor?,
    state: GenerationState? = nil
  ) throws -> Tensor {
    let past = state?.pastLength ?? 0
    try TransformerInputs.check(
      ids, "decoder_input_ids", vocab: config.vocabSize,
      maxPositions: config.maxPositionEmbeddings, past: past)
    if let m = attentionMask, m.shape != [ids.shape[0], past + ids.shape[1]] {
      throw LoomError(
        "Transformer: decoder_attention_mask has shape \(m.shape), decoder_input_ids \(ids.shape)\(past > 0 ? " after \(past) cached positions" : ""); they must match"
      )
    }
    return transformer.decoder(
      embed(ids, targetEmbedding, offset: past), memory: memory,
      tgtKeyPaddingMask: Self.padding(attentionMask, device),
      memoryKeyPaddingMask: Self.padding(memoryMask, device), tgtIsCausal: true, state: state)
  }

  /// Logits [B, T, V]: the tied target embedding or `lm_head`.
  func logits(_ hidden: Tensor) -> Tensor {
    linear(hidden, weight: lm_head?.weight ?? targetEmbedding.weight)
  }

  static func padding(_ mask: Tensor?, _ device: Device) -> Tensor? {
    mask.map { $0.to(device: device).to(.bool).logicalNot() }
  }

  /// With `labels` [B, T] and no `decoderInputIds`, the decoder reads the labels shifted
  /// right; the loss is the mean cross-entropy over positions whose label is not −100.
  public func forward(
    inputIds: Tensor, attentionMask: Tensor? = nil, decoderInputIds: Tensor? = nil,
    decoderAttentionMask: Tensor? = nil, labels: Tensor? = nil
  ) throws -> TransformerOutput {
    guard decoderInputIds != nil || labels != nil else {
      throw LoomError("Transformer: pass decoder_input_ids or labels (the decoder needs a target)")
    }
    if let labels, labels.rank != 2 {
      throw LoomError("Transformer: labels must be [batch, target length], got shape \(labels.shape)")
    }
    let dec = try decoderInputIds ?? shiftTokensRight(labels!)
    let memory = try encodeSource(inputIds, attentionMask: attentionMask)
    let hidden = try decodeTarget(
      dec, attentionMask: decoderAttentionMask, memory: memory, memoryMask: attentionMask)
    let logits = self.logits(hidden)
    var out = TransformerOutput(
      lastHiddenState: hidden, encoderLastHiddenState: memory, logits: logits)
    if let labels {
      out.loss = try Seq2SeqLMHead.loss(
        logits: logits, labels: labels, vocabSize: config.vocabSize, model: "Transformer")
    }
    return out
  }

  /// HF's `shift_tokens_right`: decoder_start_token_id, then `labels` without its last
  /// column, −100 replaced by pad_token_id.
  public func shiftTokensRight(_ labels: Tensor) throws -> Tensor {
    guard labels.rank == 2, labels.shape[1] > 0 else {
      throw LoomError("Transformer: labels must be [batch, sequence] with a sequence, got shape \(labels.shape)")
    }
    guard let pad = config.padTokenId else {
      throw LoomError("Transformer: config.pad_token_id is null; set it to make decoder_input_ids from labels")
    }
    return Seq2SeqLMHead.shiftRight(labels, start: decoderStartTokenId, pad: pad)
  }

  // MARK: EncoderDecoderModel

  public var vocabularySize: Int { config.vocabSize }
  public var maxPositions: Int { config.maxPositionEmbeddings }
  public var decoderStartTokenId: Int { config.decoderStartTokenId ?? config.bosTokenId ?? 0 }

  public func encode(ids: Tensor, attentionMask: Tensor?) -> GenerationState {
    let memory: Tensor
    do { memory = try encodeSource(ids, attentionMask: attentionMask) } catch {
      fatalError("Loom: \(error)")
    }
    let n = config.numDecoderLayers
    return GenerationState(
      selfAttention: (0..<n).map { _ in KVCache() },
      crossAttention: (0..<n).map { _ in KVCache(isCrossAttention: true) },
      encoderHiddenStates: memory, encoderAttentionMask: attentionMask?.to(device: memory.device))
  }

  public func decode(ids: Tensor, state: GenerationState) -> Tensor {
    let hidden: Tensor
    do {
      hidden = try decodeTarget(
        ids, memory: state.encoderHiddenStates!, memoryMask: state.encoderAttentionMask,
        state: state)
    } catch { fatalError("Loom: \(error)") }
    return logits(hidden)
  }
}

/// Input checks thrown before any work (a bad id would otherwise trap in the lookup).
enum TransformerInputs {
  static func check(_ ids: Tensor, _ name: String, vocab: Int, maxPositions: Int, past: Int = 0)
    throws
  {
    guard ids.rank == 2, ids.shape[0] > 0, ids.shape[1] > 0 else {
      throw LoomError(
        "Transformer: \(name) must be [batch, sequence] and non-empty, got shape \(ids.shape)")
    }
    guard past + ids.shape[1] <= maxPositions else {
      throw LoomError(
        "Transformer: \(name) has \(past + ids.shape[1]) positions, more than max_position_embeddings (\(maxPositions))"
      )
    }
    if let bad = ids.int64s.first(where: { $0 < 0 || $0 >= Int64(vocab) }) {
      throw LoomError(
        "Transformer: \(name) holds token \(bad), outside the vocabulary (size \(vocab))")
    }
  }
}

extension TransformerSeq2SeqLM: PretrainedModel {
  public static func make(config: TransformerConfig) throws -> Module {
    try TransformerSeq2SeqLM(config)
  }
  public static var architecture: String { "TransformerSeq2SeqLM" }
  /// A tied head has no weight of its own; a file holding a copy has it ignored.
  public var tiedWeightKeys: [String] { config.tieWordEmbeddings ? ["lm_head.weight"] : [] }
}
