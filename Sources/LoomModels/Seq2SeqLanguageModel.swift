import LoomCore

/// One training forward pass of an encoder–decoder LM: the loss (mean cross-entropy over
/// labels ≠ −100, plus any auxiliary losses the model adds, e.g. Switch's router losses),
/// the logits [B, T, V] and the loss's named parts to log.
public struct Seq2SeqLMOutput {
  public var loss: Tensor
  public var logits: Tensor
  public var parts: [String: Tensor]
  public init(loss: Tensor, logits: Tensor, parts: [String: Tensor] = [:]) {
    self.loss = loss
    self.logits = logits
    self.parts = parts
  }
}

/// An encoder–decoder that trains on (input_ids, labels): HF's `…ForConditionalGeneration.forward`
/// with `labels`. `loom train seq2seq` trains any `AutoModelForSeq2SeqLM` class that conforms.
public protocol Seq2SeqLanguageModel: EncoderDecoderModel {
  /// `decoderInputIds` nil: the labels shifted right after `decoderStartTokenId`;
  /// `decoderAttentionMask` (HF's decoder_attention_mask) masks padded decoder positions.
  func seq2seqForward(
    inputIds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput
}

extension BartForConditionalGeneration: Seq2SeqLanguageModel {
  public func seq2seqForward(
    inputIds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput {
    let out = try forward(
      inputIds: inputIds, attentionMask: attentionMask, decoderInputIds: decoderInputIds,
      decoderAttentionMask: decoderAttentionMask, labels: labels)
    return Seq2SeqLMOutput(loss: out.loss!, logits: out.logits!)
  }
}

extension T5ForConditionalGeneration: Seq2SeqLanguageModel {
  public func seq2seqForward(
    inputIds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput {
    let out = try forward(
      inputIds: inputIds, attentionMask: attentionMask, decoderInputIds: decoderInputIds,
      decoderAttentionMask: decoderAttentionMask, labels: labels)
    return Seq2SeqLMOutput(loss: out.loss!, logits: out.logits!)
  }
}

extension TransformerSeq2SeqLM: Seq2SeqLanguageModel {
  public func seq2seqForward(
    inputIds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput {
    let out = try forward(
      inputIds: inputIds, attentionMask: attentionMask, decoderInputIds: decoderInputIds,
      decoderAttentionMask: decoderAttentionMask, labels: labels)
    return Seq2SeqLMOutput(loss: out.loss!, logits: out.logits)
  }
}
