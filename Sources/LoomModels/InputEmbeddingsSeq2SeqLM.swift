import LoomCore
import LoomNN

/// An encoder–decoder LM whose encoder also runs from input embeddings (HF's `inputs_embeds`): the
/// seam prompt tuning uses to put virtual tokens in front of the encoder's input, as PEFT's
/// `PeftModelForSeq2SeqLM` does. BART, T5 and Switch Transformers adopt it.
public protocol InputEmbeddingsSeq2SeqLM: Seq2SeqLanguageModel, InputEmbeddingsModel {
  /// `seq2seqForward` with the encoder reading `inputsEmbeds` [B, S, D] (`attentionMask` [B, S]).
  func seq2seqForward(
    inputsEmbeds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput
  /// `encode(ids:attentionMask:)` from input embeddings: the generation state over their encoding.
  func encode(inputsEmbeds: Tensor, attentionMask: Tensor?) throws -> GenerationState
  /// The most encoder positions (nil: relative positions, no limit).
  var maxEncoderPositions: Int? { get }
}

extension BartForConditionalGeneration: InputEmbeddingsSeq2SeqLM {
  /// `shared`, as PEFT finds it (the first parameter with vocab_size rows); its forward scales.
  public var inputEmbeddings: Embedding { model.shared }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.dModel, config.encoderLayers, config.encoderAttentionHeads)
  }
  public var maxEncoderPositions: Int? { config.maxPositionEmbeddings }

  public func seq2seqForward(
    inputsEmbeds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput {
    let out = try forward(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, decoderInputIds: decoderInputIds,
      decoderAttentionMask: decoderAttentionMask, labels: labels)
    return Seq2SeqLMOutput(loss: out.loss!, logits: out.logits!)
  }

  public func encode(inputsEmbeds: Tensor, attentionMask: Tensor?) throws -> GenerationState {
    generationState(
      encoded: try model.encode(inputsEmbeds: inputsEmbeds, attentionMask: attentionMask), attentionMask: attentionMask)
  }
}

extension T5ForConditionalGeneration: InputEmbeddingsSeq2SeqLM {
  public var inputEmbeddings: Embedding { shared }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.dModel, config.numLayers, config.numHeads)
  }
  public var maxEncoderPositions: Int? { nil }

  public func seq2seqForward(
    inputsEmbeds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput {
    let out = try forward(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, decoderInputIds: decoderInputIds,
      decoderAttentionMask: decoderAttentionMask, labels: labels)
    return Seq2SeqLMOutput(loss: out.loss!, logits: out.logits!)
  }

  public func encode(inputsEmbeds: Tensor, attentionMask: Tensor?) throws -> GenerationState {
    generationState(
      encoded: try encoderOutputs(inputsEmbeds: inputsEmbeds, attentionMask: attentionMask), attentionMask: attentionMask)
  }
}

extension SwitchTransformersForConditionalGeneration: InputEmbeddingsSeq2SeqLM {
  public var inputEmbeddings: Embedding { shared }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.dModel, config.numLayers, config.numHeads)
  }
  public var maxEncoderPositions: Int? { nil }

  /// With the router losses, as `seq2seqForward(inputIds:…)`.
  public func seq2seqForward(
    inputsEmbeds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput {
    let out = try forward(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, decoderInputIds: decoderInputIds,
      decoderAttentionMask: decoderAttentionMask, labels: labels, outputRouterLogits: true)
    let parts = routerLossParts(out)
    return Seq2SeqLMOutput(
      loss: out.loss!, logits: out.logits!, parts: parts.map { ["z_loss": $0.z, "aux_loss": $0.aux] } ?? [:])
  }

  public func encode(inputsEmbeds: Tensor, attentionMask: Tensor?) throws -> GenerationState {
    generationState(
      encoded: try encoderOutputs(inputsEmbeds: inputsEmbeds, attentionMask: attentionMask), attentionMask: attentionMask)
  }
}
