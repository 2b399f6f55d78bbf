import Foundation
import LoomCore
import LoomModels
import LoomTokenizers

/// Prompt in, text out — Hugging Face's `pipeline("text-generation")`: the returned
/// text includes the prompt.
public final class TextGenerationPipeline {
  public let model: GPT2LMHeadModel
  public let tokenizer: Tokenizer

  public init(model: GPT2LMHeadModel, tokenizer: Tokenizer) {
    self.model = model
    self.tokenizer = tokenizer
  }

  /// Loads a model directory holding config.json, model.safetensors and a tokenizer.
  public convenience init(directory: String) throws {
    self.init(model: try GPT2LMHeadModel.load(from: directory), tokenizer: try Tokenizer.load(path: directory))
  }

  /// One generated text per returned sequence.
  public func callAsFunction(_ prompt: String, config: GenerationConfig = GenerationConfig()) throws -> [String] {
    model.eval()
    var c = config
    if c.eosTokenIds.isEmpty, let eos = model.config.eosTokenId { c.eosTokenIds = [eos] }
    let ids = tokenizer.encodeIds(prompt).map(Int.init)
    let outputs = try Generation.generate(model, prompts: [ids], config: c)
    return outputs.map { out in
      let generated = Generation.continuation(out, promptLength: ids.count, eosTokenIds: c.eosTokenIds)
      return prompt + tokenizer.decode(generated.map { UInt32($0) }, skipSpecialTokens: true)
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
      throw LoomError("feature extraction: \(ids.count) tokens exceed n_positions (\(model.config.nPositions))")
    }
    return noGrad { model.transformer(Tensor(ids, shape: [1, ids.count])).squeeze(0) }
  }
}
