import LoomCore
import LoomNN
import LoomTrain

/// The seeds' `DistillationTrainer`: HF's Trainer with `compute_loss` overridden to
/// α·CE(student, labels) + (1 − α)·T²·KL(softmax(teacher/T) ‖ softmax(student/T)), plus
/// DistilBERT's `alpha_cos`·cosine loss on the last hidden states when `alphaCos` > 0.
/// The teacher is frozen, stays in eval mode and runs without building a graph; it must
/// live on the student's device. Evaluation reports the same loss (and its parts) with the
/// student's logits for `computeMetrics`.
open class DistillationTrainer: Trainer {
  public let teacher: Module
  public let task: DistillationTask
  public let alpha: Double
  public let temperature: Double
  public let alphaCos: Double
  /// Writes a checkpoint or the final model (e.g. weights plus tokenizer); nil: `savePretrained`.
  public var saveModelFunction: ((Module, String) throws -> Void)?

  public init(
    model: Module, teacher: Module, task: DistillationTask, args: TrainingArguments,
    trainDataset: any TrainingDataset, evalDataset: (any TrainingDataset)? = nil,
    alpha: Double = DistillationLoss.defaultAlpha,
    temperature: Double = DistillationLoss.defaultTemperature,
    alphaCos: Double = 0, computeMetrics: ((EvalPrediction) -> [String: Double])? = nil,
    callbacks: [TrainerCallback] = []
  ) throws {
    guard (0...1).contains(alpha) else {
      throw LoomError(
        "alpha must be in [0, 1] (the weight of the labels' cross-entropy), got \(alpha)")
    }
    guard temperature > 0, temperature.isFinite else {
      throw LoomError("temperature must be positive, got \(temperature)")
    }
    guard alphaCos >= 0, alphaCos.isFinite else {
      throw LoomError("alpha_cos must be >= 0, got \(alphaCos)")
    }
    if teacher === model {
      throw LoomError(
        "the teacher and the student are the same model object; load the teacher separately")
    }
    self.teacher = teacher
    self.task = task
    self.alpha = alpha
    self.temperature = temperature
    self.alphaCos = alphaCos
    teacher.eval()
    teacher.freeze()
    super.init(
      model: model, args: args, trainDataset: trainDataset, evalDataset: evalDataset,
      computeMetrics: computeMetrics,
      callbacks: callbacks)
  }

  /// Checks the models on one training batch before any step: logits of the same size, hidden
  /// states of the same width when the cosine term is on. Errors say what both are.
  @discardableResult
  open override func train() throws -> TrainerState {
    if trainDataset.count > 0 {
      try checkCompatible(prepareInputs(trainDataset.batch(Array(0..<min(2, trainDataset.count)))))
    }
    return try super.train()
  }

  /// Runs both models on `batch` (no graph) and throws if their outputs cannot be compared.
  public func checkCompatible(_ batch: Batch) throws {
    let wasTraining = model.training
    defer { model.train(wasTraining) }
    model.eval()
    let (s, t) = try noGrad {
      (
        try DistillationForward.run(model, batch, task: task, hidden: alphaCos > 0),
        try DistillationForward.run(teacher, batch, task: task, hidden: alphaCos > 0)
      )
    }
    let studentName = String(describing: type(of: model))
    let teacherName = String(describing: type(of: teacher))
    if s.logits.shape != t.logits.shape {
      let what = task == .classify ? "number of labels (num_labels)" : "vocabulary (vocab_size)"
      throw LoomError(
        "the student's logits \(s.logits.shape) (\(studentName)) and the teacher's \(t.logits.shape) (\(teacherName)) differ in size: the KL needs the same \(what); give the student the teacher's \(what) and tokenizer"
      )
    }
    if let sh = s.lastHiddenState, let th = t.lastHiddenState, sh.shape != th.shape {
      throw LoomError(
        "--alpha-cos compares hidden states, but the student's are \(sh.shape) and the teacher's \(th.shape): give the student the teacher's hidden size, or leave --alpha-cos at 0"
      )
    }
  }

  /// The loss and its parts (`ce_loss`, `kl_loss`, `cos_loss`) with the student's forward.
  func distillationLoss(_ inputs: Batch) throws -> (LossOutput, DistillationForward) {
    let hidden = alphaCos > 0
    teacher.eval()
    let t = try noGrad { try DistillationForward.run(teacher, inputs, task: task, hidden: hidden) }
    let s = try DistillationForward.run(model, inputs, task: task, hidden: hidden)
    let kl = DistillationLoss.kl(
      student: s.logits, teacher: t.logits, keep: s.keep, temperature: temperature)
    var cos: Tensor? = nil
    if hidden, let sh = s.lastHiddenState, let th = t.lastHiddenState {
      cos = DistillationLoss.cosine(student: sh, teacher: th, keep: s.attentionMask)
    }
    let loss = DistillationLoss.combine(
      ce: s.loss, kl: kl, cos: cos, alpha: alpha, alphaCos: alphaCos)
    var parts = ["ce_loss": s.loss, "kl_loss": kl]
    if let cos { parts["cos_loss"] = cos }
    return (LossOutput(loss: loss, parts: parts), s)
  }

  open override func computeLoss(model: Module, inputs: Batch) -> LossOutput {
    do { return try distillationLoss(inputs).0 } catch {
      fatalError("Loom: distillation: \(error)")
    }
  }

  open override func predictionStep(model: Module, inputs: Batch, predictionLossOnly: Bool)
    -> PredictionStepOutput
  {
    let inputs = prepareInputs(inputs)
    return noGrad {
      do {
        let (loss, s) = try distillationLoss(inputs)
        return (
          loss.detached(), predictionLossOnly ? nil : s.logits.detach(), inputs[Batch.Key.labels]
        )
      } catch { fatalError("Loom: distillation: \(error)") }
    }
  }

  open override func saveModel(_ outputDir: String) throws {
    if let saveModelFunction {
      try saveModelFunction(model, outputDir)
    } else {
      try super.saveModel(outputDir)
    }
  }
}
