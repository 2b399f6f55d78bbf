/// Hooks into training with Hugging Face's events (`TrainerCallback`). Each receives the
/// arguments, the state and the control flags it may set; every method has an empty
/// default, so a callback implements only the events it needs. Events fire in HF's
/// order (see `Trainer.train()`).
public protocol TrainerCallback: AnyObject {
  func onInitEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  func onTrainBegin(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  func onTrainEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  func onEpochBegin(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  func onEpochEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  /// At the first micro-batch of each optimizer step.
  func onStepBegin(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  /// After gradient clipping, before `optimizer.step()`.
  func onPreOptimizerStep(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  /// After `optimizer.step()`, before the scheduler step and zero_grad.
  func onOptimizerStep(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  /// After a micro-batch that does not end an optimizer step (gradient accumulation).
  func onSubstepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  /// After an optimizer step (global_step counts it).
  func onStepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  func onLog(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl,
    logs: [String: Double])
  func onEvaluate(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl,
    metrics: [String: Double])
  func onSave(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  /// After each evaluation or prediction batch.
  func onPredictionStep(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)

  /// Short forms of onLog/onEvaluate without the arguments (called by their defaults).
  func onLog(_ logs: [String: Double], state: TrainerState, control: inout TrainerControl)
  func onEvaluate(_ metrics: [String: Double], state: TrainerState, control: inout TrainerControl)
}

extension TrainerCallback {
  public func onInitEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  {}
  public func onTrainBegin(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onTrainEnd(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onEpochBegin(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onEpochEnd(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onStepBegin(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onPreOptimizerStep(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onOptimizerStep(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onSubstepEnd(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onStepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  {}
  public func onLog(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl,
    logs: [String: Double]
  ) {
    onLog(logs, state: state, control: &control)
  }
  public func onEvaluate(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl,
    metrics: [String: Double]
  ) {
    onEvaluate(metrics, state: state, control: &control)
  }
  public func onSave(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {}
  public func onPredictionStep(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {}
  public func onLog(_ logs: [String: Double], state: TrainerState, control: inout TrainerControl) {}
  public func onEvaluate(
    _ metrics: [String: Double], state: TrainerState, control: inout TrainerControl
  ) {}
}

/// HF's `DefaultFlowCallback`: turns the logging, evaluation and save strategies and
/// max_steps into control flags. Loom also logs the final step (so the last loss is
/// always recorded), as it always has.
public final class DefaultFlowCallback: TrainerCallback {
  public init() {}

  public func onStepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  {
    let step = state.globalStep
    if step % args.loggingSteps == 0 || step >= state.maxSteps { control.shouldLog = true }
    if args.evalStrategy == .steps && step % (args.evalSteps ?? args.loggingSteps) == 0 {
      control.shouldEvaluate = true
    }
    if args.saveStrategy == .steps && args.saveSteps > 0 && step % args.saveSteps == 0 {
      control.shouldSave = true
    }
    if step >= state.maxSteps { control.shouldTrainingStop = true }
  }

  public func onEpochEnd(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {
    if args.evalStrategy == .epoch { control.shouldEvaluate = true }
    if args.saveStrategy == .epoch { control.shouldSave = true }
  }
}

/// Stops training when the best metric has not improved for `patience` evaluations.
public final class EarlyStoppingCallback: TrainerCallback {
  public let patience: Int
  public let threshold: Double
  let metric: String
  let greaterIsBetter: Bool
  var best: Double? = nil
  var bad = 0

  public init(
    patience: Int, threshold: Double = 0, metric: String = "eval_loss",
    greaterIsBetter: Bool = false
  ) {
    self.patience = patience
    self.threshold = threshold
    self.metric = metric
    self.greaterIsBetter = greaterIsBetter
  }

  public func onEvaluate(
    _ metrics: [String: Double], state: TrainerState, control: inout TrainerControl
  ) {
    guard let v = metrics[metric] else { return }
    // A NaN metric is no improvement.
    if v.isNaN || best.map({ greaterIsBetter ? v <= $0 + threshold : v >= $0 - threshold }) == true {
      bad += 1
      if bad >= patience { control.shouldTrainingStop = true }
    } else {
      best = v
      bad = 0
    }
  }
}
