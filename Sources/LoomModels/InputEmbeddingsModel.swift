import LoomCore
import LoomNN

/// A model that also runs from input embeddings instead of token ids (HF's `inputs_embeds`): the seam
/// prompt tuning uses to put trained virtual-token embeddings in front of the words' embeddings.
/// GPT-2 adopts it; Llama, BLOOM and the encoders can adopt it the same way.
public protocol InputEmbeddingsModel: AnyObject {
  /// The word-embedding module (HF's `get_input_embeddings()`).
  var inputEmbeddings: Embedding { get }
  /// The config sizes PEFT's prompt-learning configs copy: `token_dim` (hidden size), `num_layers`,
  /// `num_attention_heads`.
  var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) { get }
}

/// A causal language model driven from input embeddings: training (`lossOutput`) and generation
/// (`logits`, whose first call fills the state's caches as an ids prompt would).
public protocol InputEmbeddingsCausalLM: CausalLanguageModel, InputEmbeddingsModel {
  /// Logits [B, T, V] for `inputsEmbeds` [B, T, D] following the positions `state` caches.
  /// `attentionMask` [B, past + T] (1 = real token); `positionIds` [B or 1, T], nil counting
  /// past ..< past + T as HF's forward does without position_ids.
  func logits(
    inputsEmbeds: Tensor, attentionMask: Tensor?, positionIds: Tensor?, state: GenerationState?
  ) -> Tensor
  /// Next-token cross-entropy from embeddings (labels [B, T], −100 ignored), as HF's `labels=`.
  func loss(inputsEmbeds: Tensor, labels: Tensor, attentionMask: Tensor?) -> (
    loss: Tensor, logits: Tensor
  )
}

extension GPT2LMHeadModel: InputEmbeddingsCausalLM {
  public var inputEmbeddings: Embedding { transformer.wte }

  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.nEmbd, config.nLayer, config.nHead)
  }

  /// Logits [B, T, V] from input embeddings [B, T, n_embd].
  public func callAsFunction(
    inputsEmbeds: Tensor, attentionMask: Tensor? = nil, positionIds: Tensor? = nil,
    caches: [KVCache]? = nil
  ) -> Tensor {
    let hidden = transformer(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, positionIds: positionIds,
      caches: caches)
    return recordForward(
      linear(hidden, weight: lm_head?.weight ?? transformer.wte.weight), inputs: [inputsEmbeds])
  }

  public func logits(
    inputsEmbeds: Tensor, attentionMask: Tensor?, positionIds: Tensor?, state: GenerationState?
  )
    -> Tensor
  {
    self(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, positionIds: positionIds,
      caches: state?.selfAttention)
  }

  public func loss(inputsEmbeds: Tensor, labels: Tensor, attentionMask: Tensor?) -> (
    loss: Tensor, logits: Tensor
  ) {
    let out = lossOutput(
      logits: self(inputsEmbeds: inputsEmbeds, attentionMask: attentionMask), labels: labels)
    return (out.loss, out.logits)
  }
}
