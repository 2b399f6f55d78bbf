import LoomCore
import LoomNN

// Llama, BLOOM and the encoders' sequence classifiers run from input embeddings as GPT-2 does
// (see InputEmbeddingsModel): prompt tuning's seam.

extension LlamaForCausalLM: InputEmbeddingsCausalLM {
  public var inputEmbeddings: Embedding { model.embed_tokens }

  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.hiddenSize, config.numHiddenLayers, config.numAttentionHeads)
  }

  /// Positions count past ..< past + T unless given (HF's forward with inputs_embeds).
  public func logits(
    inputsEmbeds: Tensor, attentionMask: Tensor?, positionIds: Tensor?, state: GenerationState?
  ) -> Tensor {
    let hidden = model(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, positionIds: positionIds,
      caches: state?.selfAttention)
    let logits = lm_head.map { $0(hidden) } ?? linear(hidden, weight: model.embed_tokens.weight)
    return recordForward(logits, inputs: [inputsEmbeds])
  }

  public func loss(inputsEmbeds: Tensor, labels: Tensor, attentionMask: Tensor?) -> (
    loss: Tensor, logits: Tensor
  ) {
    let logits = self.logits(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, positionIds: nil, state: nil)
    return (BloomForCausalLM.causalLoss(logits, labels: labels), logits)
  }
}

extension BloomForCausalLM: InputEmbeddingsCausalLM {
  public var inputEmbeddings: Embedding { transformer.word_embeddings }

  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.hiddenSize, config.nLayer, config.nHead)
  }

  /// ALiBi has no positions: `positionIds` is not used (HF's BLOOM takes none).
  public func logits(
    inputsEmbeds: Tensor, attentionMask: Tensor?, positionIds: Tensor?, state: GenerationState?
  ) -> Tensor {
    let hidden = transformer.hiddenStates(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, caches: state?.selfAttention
    ).last
    return recordForward(linear(hidden, weight: headWeight), inputs: [inputsEmbeds])
  }

  public func loss(inputsEmbeds: Tensor, labels: Tensor, attentionMask: Tensor?) -> (
    loss: Tensor, logits: Tensor
  ) {
    let logits = self.logits(
      inputsEmbeds: inputsEmbeds, attentionMask: attentionMask, positionIds: nil, state: nil)
    return (Self.causalLoss(logits, labels: labels), logits)
  }
}

// The decoder-only classifiers pool at the last column from inputs_embeds, as HF does.
extension LlamaForSequenceClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { model.embed_tokens }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.hiddenSize, config.numHiddenLayers, config.numAttentionHeads)
  }
}

extension BloomForSequenceClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { transformer.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.hiddenSize, config.nLayer, config.nHead)
  }
}

extension BertForSequenceClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { bert.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.hiddenSize, config.numHiddenLayers, config.numAttentionHeads)
  }
}

extension RobertaForSequenceClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { roberta.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.bert.hiddenSize, config.bert.numHiddenLayers, config.bert.numAttentionHeads)
  }
}

extension DistilBertForSequenceClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { distilbert.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.dim, config.nLayers, config.nHeads)
  }
}

// The encoders' token-classification and question-answering heads and GPT-2's classifier
// (prompt tuning's TOKEN_CLS, QUESTION_ANS and SEQ_CLS wrappers).
extension BertForTokenClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { bert.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.hiddenSize, config.numHiddenLayers, config.numAttentionHeads)
  }
}

extension BertForQuestionAnswering: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { bert.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.hiddenSize, config.numHiddenLayers, config.numAttentionHeads)
  }
}

extension RobertaForTokenClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { roberta.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.bert.hiddenSize, config.bert.numHiddenLayers, config.bert.numAttentionHeads)
  }
}

extension RobertaForQuestionAnswering: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { roberta.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.bert.hiddenSize, config.bert.numHiddenLayers, config.bert.numAttentionHeads)
  }
}

extension DistilBertForTokenClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { distilbert.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.dim, config.nLayers, config.nHeads)
  }
}

extension DistilBertForQuestionAnswering: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { distilbert.embeddings.word_embeddings }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.dim, config.nLayers, config.nHeads)
  }
}

extension GPT2ForSequenceClassification: InputEmbeddingsModel {
  public var inputEmbeddings: Embedding { transformer.wte }
  public var promptLearningSizes: (tokenDim: Int, layers: Int, attentionHeads: Int) {
    (config.nEmbd, config.nLayer, config.nHead)
  }
}
