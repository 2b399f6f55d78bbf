import Foundation
import LoomCore
import LoomModels
import LoomNN

/// A prompt-tuned encoder head, as PEFT's `PeftModelForSequenceClassification` (SEQ_CLS),
/// `PeftModelForTokenClassification` (TOKEN_CLS) and `PeftModelForQuestionAnswering`
/// (QUESTION_ANS) compute it with a prompt-tuning config: the virtual tokens' embeddings go in
/// front of the words', the attention mask gains ones and token_type_ids zeros for them,
/// position_ids are dropped (PEFT ignores them), and the base runs from `inputs_embeds`. The base
/// is frozen except the heads PEFT adds to modules_to_save ("classifier", "score" for the
/// classifiers, "qa_outputs" for QA: every module whose path ends so), which train and are saved
/// with the prompt.
///
/// Token-level outputs: PEFT hands TOKEN_CLS labels and QA positions to the base as they are,
/// though the base's logits then cover n + T columns (labels [B, T] fail transformers' loss, and
/// positions point n tokens early). Loom does what PEFT does for causal LMs instead: labels gain
/// −100 for the virtual tokens, positions shift by n, and the virtual columns' logits are dropped
/// from `logits` / `startLogits` / `endLogits`, so outputs line up with the caller's tokens.
/// The loss and gradients equal PEFT's given labels padded (positions shifted) that way.
public final class PromptTuningSequenceClassifier: Module, EncoderModel {
  @Child public var base_model: Module
  @Child public var prompt_encoder: [String: PromptEmbedding]
  /// The config with the base's sizes and PEFT's modules_to_save filled in.
  public internal(set) var peftConfig: PromptTuningConfig
  private let _encoder: any EncoderModel & InputEmbeddingsModel

  /// `get_peft_model(base, config)` for `task` (SEQ_CLS, TOKEN_CLS or QUESTION_ANS; `tokenize`
  /// for TEXT init, see `PromptEmbedding`).
  public init(
    base: Module & EncoderModel & InputEmbeddingsModel, config: PromptTuningConfig,
    task: PeftTaskType = .sequenceClassification,
    tokenize: ((String) throws -> [Int])? = nil, generator: Generator = .global
  ) throws {
    guard let heads = Self.headNames[task] else {
      throw PromptTuningError(
        "task_type \(task.rawValue) is not an encoder head's; prompt-tuned encoders take SEQ_CLS, TOKEN_CLS or QUESTION_ANS")
    }
    var resolved = try PromptTuningCausalLM.resolve(config, for: base, task: task)
    // PEFT's task wrappers append their head names to modules_to_save.
    var saved = resolved.modulesToSave ?? []
    for head in heads where !saved.contains(head) { saved.append(head) }
    resolved.modulesToSave = saved
    let prompt = try PromptEmbedding(
      config: resolved, wordEmbeddings: base.inputEmbeddings, tokenize: tokenize,
      generator: generator)
    base.freeze()
    base_model = base
    prompt_encoder = ["default": prompt]
    peftConfig = resolved
    _encoder = base
    self.task = task
    super.init()
    for (_, t) in headParameters { t.requiresGrad = !resolved.inferenceMode }
  }

  /// The modules_to_save names each PEFT task wrapper adds.
  static let headNames: [PeftTaskType: [String]] = [
    .sequenceClassification: ["classifier", "score"], .tokenClassification: ["classifier", "score"],
    .questionAnswering: ["qa_outputs"],
  ]

  /// PEFT's task_type: which head the base has.
  public let task: PeftTaskType

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

  /// PEFT's forward: input_ids [B, T] (attention_mask, token_type_ids [B, T]; labels [B] or
  /// [B, num_labels] for SEQ_CLS, [B, T] for TOKEN_CLS; start/end positions [B] for QA) → the
  /// base's logits and loss with the prompt in front (token-level logits for the T real columns).
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
    if task == .tokenClassification, let labels = inputs.labels {
      guard labels.shape == ids.shape else {
        throw PromptTuningError("labels has shape \(labels.shape), input_ids has \(ids.shape); token labels are [batch, sequence]")
      }
      let ignored = Tensor.full([b, n], -100, dtype: labels.dtype, device: labels.device)
      prompted.labels = Tensor.cat([ignored, labels], dim: 1)
    }
    // Positions count the virtual tokens too (clamped-out positions stay out: T + n is ignored).
    let shifted = { (p: Tensor) in
      Tensor(p.to(.int64).int64s.map { $0 + Int64(n) }, shape: p.shape, device: p.device)
    }
    prompted.startPositions = inputs.startPositions.map(shifted)
    prompted.endPositions = inputs.endPositions.map(shifted)
    prompted.attentionMask = inputs.attentionMask.map {
      Tensor.cat([Tensor.ones([b, n], dtype: $0.dtype, device: $0.device), $0], dim: 1)
    }
    prompted.tokenTypeIds = inputs.tokenTypeIds.map {
      Tensor.cat([Tensor.zeros([b, n], dtype: .int64, device: $0.device), $0.to(.int64)], dim: 1)
    }
    prompted.outputHiddenStates = inputs.outputHiddenStates
    var out = try _encoder.forward(prompted)
    guard task != .sequenceClassification else { return out }
    let real = { (t: Tensor) in t.slice(dim: 1, start: n, end: t.shape[1]) }
    out.logits = out.logits.map(real)
    out.startLogits = out.startLogits.map(real)
    out.endLogits = out.endLogits.map(real)
    return out
  }
}
