import Foundation
import LoomCore
import LoomModels
import LoomTokenizers

/// Prompt in, text out — Hugging Face's `pipeline("text-generation")`: the returned
/// text includes the prompt.
public final class TextGenerationPipeline {
  public let model: GPT2LMHeadModel
  /// The model's tokenizer, or its character vocabulary (`loom train gpt --char`).
  public let codec: TextCodec

  public init(model: GPT2LMHeadModel, codec: TextCodec) {
    self.model = model
    self.codec = codec
  }

  public convenience init(model: GPT2LMHeadModel, tokenizer: Tokenizer) {
    self.init(model: model, codec: .hf(tokenizer))
  }

  /// Loads a model directory holding config.json, model.safetensors and a tokenizer
  /// (tokenizer.json, vocab.json + merges.txt, or char_vocab.json), e.g. one written
  /// by `loom train gpt` or HF's `save_pretrained`.
  public convenience init(directory: String) throws {
    let model = try Generation.loadCausalLanguageModel(from: directory)
    self.init(model: model, codec: try TextCodec.load(directory, modelVocabSize: model.config.vocabSize))
  }

  /// One generated text per returned sequence.
  public func callAsFunction(_ prompt: String, config: GenerationConfig = GenerationConfig()) throws
    -> [String]
  {
    model.eval()
    var c = config
    if c.eosTokenIds.isEmpty {
      let eos = model.config.eosTokenIds.isEmpty ? (codec.eosTokenId.map { [$0] } ?? []) : model.config.eosTokenIds
      c.eosTokenIds = eos.filter { $0 < model.config.vocabSize }
    }
    c.suppressTokens += codec.unusedIds(modelVocabSize: model.config.vocabSize)
    let ids = try codec.encode(prompt)
    guard !ids.isEmpty else { throw LoomError("text generation: the prompt encodes to no tokens") }
    let outputs = try Generation.generate(model, prompts: [ids], config: c)
    return outputs.map { out in
      prompt
        + codec.decode(
          Generation.continuation(out, promptLength: ids.count, eosTokenIds: c.eosTokenIds))
    }
  }
}

/// Text in, hidden states out — `pipeline("feature-extraction")`: the last hidden
/// state [tokens, n_embd] of each input (HF's `last_hidden_state[0]`).
public final class FeatureExtractionPipeline {
  public let model: GPT2LMHeadModel
  public let tokenizer: Tokenizer

  public init(model: GPT2LMHeadModel, tokenizer: Tokenizer) {
    self.model = model
    self.tokenizer = tokenizer
  }

  public func callAsFunction(_ text: String) throws -> Tensor {
    model.eval()
    let ids = tokenizer.encodeIds(text).map { Int64($0) }
    guard !ids.isEmpty else { throw LoomError("feature extraction: the text encodes to no tokens") }
    guard ids.count <= model.config.nPositions else {
      throw LoomError(
        "feature extraction: \(ids.count) tokens exceed n_positions (\(model.config.nPositions))")
    }
    return noGrad { model.transformer(Tensor(ids, shape: [1, ids.count])).squeeze(0) }
  }
}
