import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN

/// A prompt-tuned causal LM, as PEFT's `PeftModelForCausalLM` computes it: the virtual tokens'
/// embeddings go in front of the input embeddings, the attention mask gains ones and the labels
/// −100 for them, positions count every token from 0 (PEFT drops position_ids), the base is frozen
/// and only `prompt_encoder.default.embedding.weight` trains. Generation (LoomGenerate, any
/// strategy) puts the prompt in front on the first step; later steps read it from the caches.
public final class PromptTuningCausalLM: Module, CausalLanguageModel {
  @Child public var base_model: Module
  /// PEFT's ModuleDict of adapters; Loom keeps the one named "default".
  @Child public var prompt_encoder: [String: PromptEmbedding]
  /// The config with the base's sizes filled in (what adapter_config.json gets).
  public internal(set) var peftConfig: PromptTuningConfig
  private let _lm: any InputEmbeddingsCausalLM

  /// `get_peft_model(base, config)`: checks and completes the config against the base, freezes the
  /// base and initialises the prompt (`tokenize` for TEXT init, see `PromptEmbedding`).
  public init(
    base: Module & InputEmbeddingsCausalLM, config: PromptTuningConfig,
    tokenize: ((String) throws -> [Int])? = nil, generator: Generator = .global
  ) throws {
    let resolved = try Self.resolve(config, for: base, task: .causalLM)
    let prompt = try PromptEmbedding(
      config: resolved, wordEmbeddings: base.inputEmbeddings, tokenize: tokenize,
      generator: generator)
    base.freeze()
    base_model = base
    prompt_encoder = ["default": prompt]
    peftConfig = resolved
    _lm = base
    super.init()
  }

  /// PEFT's `_prepare_prompt_learning_config`: sizes the config leaves out come from the base; sizes
  /// it gives must match it.
  static func resolve(
    _ config: PromptTuningConfig, for base: InputEmbeddingsModel, task: PeftTaskType
  ) throws -> PromptTuningConfig {
    var c = config
    try c.validate()
    let sizes = base.promptLearningSizes
    if let d = c.tokenDim, d != sizes.tokenDim {
      throw PromptTuningError(
        "token_dim is \(d) but the base model's hidden size is \(sizes.tokenDim); the adapter was made for another base (base_model_name_or_path: \(c.baseModelNameOrPath ?? "null"))"
      )
    }
    c.tokenDim = sizes.tokenDim
    c.numLayers = c.numLayers ?? sizes.layers
    c.numAttentionHeads = c.numAttentionHeads ?? sizes.attentionHeads
    // PEFT's default: 2 for SEQ_2_SEQ_LM (whose prompt tuning still uses only the first n rows), else 1.
    c.numTransformerSubmodules = c.numTransformerSubmodules ?? (task == .seq2SeqLM ? 2 : 1)
    guard task == .seq2SeqLM || c.numTransformerSubmodules == 1 else {
      throw PromptTuningError(
        "num_transformer_submodules is \(c.numTransformerSubmodules!); this model takes 1 (2 is for encoder–decoder models)"
      )
    }
    if let given = c.taskType, given != task {
      let what =
        [
          .causalLM: "a causal LM", .sequenceClassification: "a sequence classifier",
          .tokenClassification: "a token classifier", .questionAnswering: "a question-answering model",
          .seq2SeqLM: "an encoder–decoder LM",
        ][task] ?? "a \(task.rawValue) model"
      throw PromptTuningError("task_type is \(given.rawValue); this is \(what) (\(task.rawValue))")
    }
    c.taskType = task
    return c
  }

  public var prompt: PromptEmbedding { prompt_encoder["default"]! }
  public var numVirtualTokens: Int { peftConfig.numVirtualTokens }
  /// The parameters that train (the prompt); everything in the base is frozen.
  public var trainableParameters: [Tensor] { [prompt.embedding.weight] }

  /// `inputIds` [B, T] embedded by the base with the prompt in front: [B, n + T, D], and the mask
  /// [B, n + T] when one is given.
  func promptedInputs(_ inputIds: Tensor, attentionMask: Tensor?) -> (embeds: Tensor, mask: Tensor?)
  {
    let b = inputIds.shape[0]
    let words = _lm.inputEmbeddings(inputIds.to(device: _lm.inputEmbeddings.weight.device))
    let prompts = prompt.prompts(batch: b).to(words.dtype)
    return (Tensor.cat([prompts, words], dim: 1), attentionMask.map(withPromptMask))
  }

  /// Ones for the virtual tokens in front of `mask` [B, L].
  func withPromptMask(_ mask: Tensor) -> Tensor {
    let ones = Tensor.ones(
      [mask.shape[0], numVirtualTokens], dtype: mask.dtype, device: mask.device)
    return Tensor.cat([ones, mask], dim: 1)
  }

  /// PEFT's forward: logits [B, n + T, V] (the virtual positions included, as PEFT returns them)
  /// and, with `labels` [B, T], the next-token loss with the virtual positions ignored.
  public func forward(inputIds: Tensor, attentionMask: Tensor? = nil, labels: Tensor? = nil) -> (
    loss: Tensor?, logits: Tensor
  ) {
    let (embeds, mask) = promptedInputs(inputIds, attentionMask: attentionMask)
    guard let labels else {
      return (
        nil, _lm.logits(inputsEmbeds: embeds, attentionMask: mask, positionIds: nil, state: nil)
      )
    }
    let ignored = Tensor.full(
      [labels.shape[0], numVirtualTokens], -100, dtype: labels.dtype, device: labels.device)
    let out = _lm.loss(
      inputsEmbeds: embeds, labels: Tensor.cat([ignored, labels], dim: 1), attentionMask: mask)
    return (out.loss, out.logits)
  }

  override public func callAsFunction(_ ids: Tensor) -> Tensor { forward(inputIds: ids).logits }

  // MARK: generation

  public var vocabularySize: Int { _lm.vocabularySize }
  /// The base's positions less the virtual tokens', which take the first ones.
  public var maxPositions: Int {
    _lm.maxPositions == Int.max ? Int.max : _lm.maxPositions - numVirtualTokens
  }

  public func makeState(batch: Int, capacity: Int) -> GenerationState {
    _lm.makeState(batch: batch, capacity: capacity + numVirtualTokens)
  }

  /// Logits [B, T, V] for `ids` [B, T]. On the first step (empty caches) the prompt goes in front and
  /// its positions' logits are dropped; later steps follow the cached prompt. `attentionMask` covers
  /// the real tokens only ([B, past real + T]); the prompt's ones are added here.
  public func logits(ids: Tensor, attentionMask: Tensor?, state: GenerationState?) -> Tensor {
    let first = (state?.pastLength ?? 0) == 0
    let mask = attentionMask.map(withPromptMask)
    if first {
      let (embeds, _) = promptedInputs(ids, attentionMask: nil)
      let all = _lm.logits(
        inputsEmbeds: embeds, attentionMask: mask, positionIds: nil, state: state)
      return all.slice(dim: 1, start: numVirtualTokens, end: all.shape[1])
    }
    let words = _lm.inputEmbeddings(ids.to(device: _lm.inputEmbeddings.weight.device))
    return _lm.logits(inputsEmbeds: words, attentionMask: mask, positionIds: nil, state: state)
  }
}
