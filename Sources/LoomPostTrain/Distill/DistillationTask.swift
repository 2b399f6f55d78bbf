import LoomCore
import LoomModels
import LoomNN
import LoomTrain

/// What is distilled: a sequence classifier's class logits, or a language model's
/// per-token vocabulary logits (causal or masked).
public enum DistillationTask: String, CaseIterable, Sendable {
  case classify
  case causalLM = "causal-lm"
  case mlm

  /// The Auto class that loads a model for the task.
  public var autoTask: AutoTask {
    switch self {
    case .classify: return .sequenceClassification
    case .causalLM: return .causalLM
    case .mlm: return .maskedLM
    }
  }

  /// `--task`'s value, with a clear error for anything else.
  public init(flag: String) throws {
    guard let t = DistillationTask(rawValue: flag) else {
      throw LoomError(
        "--task must be \(Self.allCases.map(\.rawValue).joined(separator: ", ")), got '\(flag)'")
    }
    self = t
  }
}

/// One model's forward for distillation: its logits, its own loss on the labels (the CE of
/// α·CE), its last hidden states when asked for, and which tokens the KL keeps.
public struct DistillationForward {
  /// [B, C] for classification, [B, S, V] for language models.
  public var logits: Tensor
  /// The model's label loss (HF's `outputs.loss`).
  public var loss: Tensor
  /// The last hidden states [B, S, H] (`hidden_states[-1]`), when requested.
  public var lastHiddenState: Tensor?
  /// Tokens the KL averages over ([B, S], nonzero = kept): the attention mask for a causal LM,
  /// labels != −100 for MLM; nil for classification.
  public var keep: Tensor?
  /// The attention mask (positions the cosine term averages over).
  public var attentionMask: Tensor?

  /// Runs `model` on `batch` for `task`. Classification and MLM models are `EncoderModel`s;
  /// a causal LM is a `CausalLanguageModel` (GPT-2 also gives its hidden states).
  public static func run(
    _ model: Module, _ batch: Batch, task: DistillationTask, hidden: Bool = false
  ) throws -> DistillationForward {
    let name = String(describing: type(of: model))
    switch task {
    case .classify, .mlm:
      guard let encoder = model as? any EncoderModel else {
        throw LoomError(
          "\(name) is not an encoder model: --task \(task.rawValue) needs a BERT / RoBERTa / DistilBERT model"
        )
      }
      var inputs = try EncoderInputs(named: batch.tensors)
      inputs.outputHiddenStates = hidden
      let out = try encoder.forward(inputs)
      guard let logits = out.logits, let loss = out.loss else {
        throw LoomError(
          "\(name) computed no logits or loss: the batch needs its labels (got \(batch.tensors.keys.sorted()))"
        )
      }
      let mask = batch.attentionMask
      let keep =
        task == .mlm
        ? inputs.labels.map { $0.to(device: logits.device) != Double(PostTrain.ignoreIndex) } : nil
      return DistillationForward(
        logits: logits, loss: loss, lastHiddenState: hidden ? out.lastHiddenState : nil, keep: keep,
        attentionMask: mask)
    case .causalLM:
      guard let lm = model as? any CausalLanguageModel else {
        throw LoomError(
          "\(name) is not a causal language model: --task causal-lm needs GPT-2, Llama or BLOOM")
      }
      let ids = batch.inputs
      let mask = batch.attentionMask
      let logits: Tensor
      var last: Tensor? = nil
      if let gpt = lm as? GPT2LMHeadModel {
        let h = gpt.transformer(ids, attentionMask: mask)
        logits = linear(h, weight: gpt.lm_head?.weight ?? gpt.transformer.wte.weight)
        last = hidden ? h : nil
      } else {
        if hidden {
          throw LoomError(
            "--alpha-cos needs the last hidden states, which Loom reads from GPT-2 causal LMs only (got \(name))"
          )
        }
        logits = lm.logits(ids: ids, attentionMask: mask, state: nil)
      }
      // HF's causal-LM loss: logits at t predict labels at t + 1, −100 ignored.
      let labels = (batch[Batch.Key.labels] ?? ids).to(device: logits.device)
      let (b, t, v) = (logits.shape[0], logits.shape[1], logits.shape[2])
      let shifted = logits.slice(dim: 1, start: 0, end: t - 1).reshape([b * (t - 1), v])
      let targets = labels.slice(dim: 1, start: 1, end: t).contiguous().reshape([-1])
      let loss = crossEntropy(shifted, targets)
      let keep = mask ?? Tensor.ones([b, t], device: logits.device)
      return DistillationForward(
        logits: logits, loss: loss, lastHiddenState: last, keep: keep, attentionMask: mask)
    }
  }
}
