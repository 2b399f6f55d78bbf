import Foundation

/// HF's `CallbackHandler`: fires each event on every callback in order, resetting the
/// control flags an event consumes first (as transformers does).
public final class CallbackHandler {
  public var callbacks: [TrainerCallback]

  init(_ callbacks: [TrainerCallback]) { self.callbacks = callbacks }

  typealias Event = (TrainerCallback, TrainingArguments, TrainerState, inout TrainerControl) -> Void

  func fire(
    _ args: TrainingArguments, _ state: TrainerState, _ control: inout TrainerControl,
    _ event: Event
  ) {
    for c in callbacks { event(c, args, state, &control) }
  }

  public func onInitEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onInitEnd(args: $1, state: $2, control: &$3) }
  }
  public func onTrainBegin(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    c.shouldTrainingStop = false
    fire(a, s, &c) { $0.onTrainBegin(args: $1, state: $2, control: &$3) }
  }
  public func onTrainEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onTrainEnd(args: $1, state: $2, control: &$3) }
  }
  public func onEpochBegin(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    c.shouldEpochStop = false
    fire(a, s, &c) { $0.onEpochBegin(args: $1, state: $2, control: &$3) }
  }
  public func onEpochEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onEpochEnd(args: $1, state: $2, control: &$3) }
  }
  public func onStepBegin(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    c.shouldLog = false
    c.shouldEvaluate = false
    c.shouldSave = false
    fire(a, s, &c) { $0.onStepBegin(args: $1, state: $2, control: &$3) }
  }
  public func onPreOptimizerStep(
    _ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl
  ) {
    fire(a, s, &c) { $0.onPreOptimizerStep(args: $1, state: $2, control: &$3) }
  }
  public func onOptimizerStep(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl)
  {
    fire(a, s, &c) { $0.onOptimizerStep(args: $1, state: $2, control: &$3) }
  }
  public func onSubstepEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onSubstepEnd(args: $1, state: $2, control: &$3) }
  }
  public func onStepEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onStepEnd(args: $1, state: $2, control: &$3) }
  }
  public func onLog(
    _ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl, _ logs: [String: Double]
  ) {
    c.shouldLog = false
    fire(a, s, &c) { $0.onLog(args: $1, state: $2, control: &$3, logs: logs) }
  }
  public func onEvaluate(
    _ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl,
    _ metrics: [String: Double]
  ) {
    c.shouldEvaluate = false
    fire(a, s, &c) { $0.onEvaluate(args: $1, state: $2, control: &$3, metrics: metrics) }
  }
  public func onSave(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    c.shouldSave = false
    fire(a, s, &c) { $0.onSave(args: $1, state: $2, control: &$3) }
  }
  public func onPredictionStep(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl)
  {
    fire(a, s, &c) { $0.onPredictionStep(args: $1, state: $2, control: &$3) }
  }
}
