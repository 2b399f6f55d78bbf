import Foundation
import LoomCore
import LoomModels
import LoomNN

/// A prompt-tuned sequence classifier, as PEFT's `PeftModelForSequenceClassification` computes it
/// with a prompt-tuning config: the virtual tokens' embeddings go in front of the words', the
/// attention mask gains ones and token_type_ids zeros for them, position_ids are dropped (PEFT
/// ignores them), and the base runs from `inputs_embeds`. The base is frozen except the heads
/// PEFT adds to modules_to_save ("classifier", "score": every module whose path ends so), which
/// train and are saved with the prompt.
public final class PromptTuningSequenceClassifier: Module, EncoderModel {
  @Child public var base_model: Module
  @Child public var prompt_encoder: [String: PromptEmbedding]
  /// The config with the base's sizes and PEFT's modules_to_save filled in.
  public internal(set) var peftConfig: PromptTuningConfig
  private let _encoder: any EncoderModel & InputEmbeddingsModel

  /// `get_peft_model(base, config)` for SEQ_CLS (`tokenize` for TEXT init, see `PromptEmbedding`).
  public init(
    base: Module & EncoderModel & InputEmbeddingsModel, config: PromptTuningConfig,
    tokenize: ((String) throws -> [Int])? = nil, generator: Generator = .global
  ) throws {
    var resolved = try PromptTuningCausalLM.resolve(
      config, for: base, task: .sequenceClassification)
    // PeftModelForSequenceClassification appends its head names to modules_to_save.
    var saved = resolved.modulesToSave ?? []
    for head in Self.headNames where !saved.contains(head) { saved.append(head) }
    resolved.modulesToSave = saved
    let prompt = try PromptEmbedding(
      config: resolved, wordEmbeddings: base.inputEmbeddings, tokenize: tokenize,
      generator: generator)
    base.freeze()
    base_model = base
    prompt_encoder = ["default": prompt]
    peftConfig = resolved
    _encoder = base
    super.init()
    for (_, t) in headParameters { t.requiresGrad = !resolved.inferenceMode }
  }

  static let headNames = ["classifier", "score"]

  public var prompt: PromptEmbedding { prompt_encoder["default"]! }
  public var numVirtualTokens: Int { peftConfig.numVirtualTokens }
  public var maxSequenceLength: Int { _encoder.maxSequenceLength - numVirtualTokens }

  /// The base's modules_to_save parameters by their paths in the base: PEFT's `_set_trainable`
  /// wraps every module whose path ends with a listed name (so DistilBERT's "pre_classifier" too),
  /// the outermost one when several nest.
  public var headParameters: [(String, Tensor)] {
    let names = peftConfig.modulesToSave ?? []
    var roots: [String] = []
    for (path, _) in base_model.namedModules() where !path.isEmpty {
      guard names.contains(where: { path.hasSuffix($0) }) else { continue }
      if roots.contains(where: { path.hasPrefix($0 + ".") }) { continue }
      roots.append(path)
    }
    return base_model.namedParameters().filter { name, _ in
      roots.contains { name.hasPrefix($0 + ".") }
    }
  }

  /// What trains: the prompt, then the heads.
  public var trainableParameters: [Tensor] {
    [prompt.embedding.weight] + headParameters.map(\.1)
  }

  /// PEFT's forward: input_ids [B, T] (attention_mask, token_type_ids [B, T], labels [B] or
  /// [B, num_labels]) → the base's logits and loss with the prompt in front.
  public func forward(_ inputs: EncoderInputs) throws -> EncoderOutput {
    let ids = inputs.inputIds
    guard ids.rank == 2, ids.shape[1] > 0 else {
      throw PromptTuningError(
        "input_ids must be [batch, sequence] with at least one token, got shape \(ids.shape)")
    }
    let table = _encoder.inputEmbeddings.weight
    let vocabulary = table.shape[0]
    let values = ids.to(.int64).int64s
    if let bad = values.first(where: { $0 < 0 || $0 >= Int64(vocabulary) }) {
      throw PromptTuningError(
        "input_ids holds \(bad), outside the base model's vocabulary of \(vocabulary); does the tokenizer match the model?"
      )
    }
    let (b, n) = (ids.shape[0], numVirtualTokens)
    for (name, t) in [
      ("attention_mask", inputs.attentionMask), ("token_type_ids", inputs.tokenTypeIds),
    ] {
      if let t, t.shape != ids.shape {
        throw PromptTuningError("\(name) has shape \(t.shape), input_ids has \(ids.shape)")
      }
    }
    let words = _encoder.inputEmbeddings(ids.to(device: table.device))
    let embeds = Tensor.cat([prompt.prompts(batch: b).to(words.dtype), words], dim: 1)
    var prompted = EncoderInputs(inputsEmbeds: embeds, labels: inputs.labels)
    prompted.attentionMask = inputs.attentionMask.map {
      Tensor.cat([Tensor.ones([b, n], dtype: $0.dtype, device: $0.device), $0], dim: 1)
    }
    prompted.tokenTypeIds = inputs.tokenTypeIds.map {
      Tensor.cat([Tensor.zeros([b, n], dtype: .int64, device: $0.device), $0.to(.int64)], dim: 1)
    }
    prompted.outputHiddenStates = inputs.outputHiddenStates
    return try _encoder.forward(prompted)
  }
}
