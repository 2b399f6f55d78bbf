import Foundation

/// HF's `CallbackHandler`: fires each event on every callback in order, resetting the
/// control flags an event consumes first (as transformers does).
public final class CallbackHandler {
  public var callbacks: [TrainerCallback]

  init(_ callbacks: [TrainerCallback]) { self.callbacks = callbacks }

  typealias Event = (TrainerCallback, TrainingArguments, TrainerState, inout TrainerControl) -> Void

  func fire(_ args: TrainingArguments, _ state: TrainerState, _ control: inout TrainerControl, _ event: Event) {
    for c in callbacks { event(c, args, state, &control) }
  }

  func onInitEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onInitEnd(args: $1, state: $2, control: &$3) }
  }
  func onTrainBegin(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    c.shouldTrainingStop = false
    fire(a, s, &c) { $0.onTrainBegin(args: $1, state: $2, control: &$3) }
  }
  func onTrainEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onTrainEnd(args: $1, state: $2, control: &$3) }
  }
  func onEpochBegin(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    c.shouldEpochStop = false
    fire(a, s, &c) { $0.onEpochBegin(args: $1, state: $2, control: &$3) }
  }
  func onEpochEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onEpochEnd(args: $1, state: $2, control: &$3) }
  }
  func onStepBegin(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    c.shouldLog = false
    c.shouldEvaluate = false
    c.shouldSave = false
    fire(a, s, &c) { $0.onStepBegin(args: $1, state: $2, control: &$3) }
  }
  func onPreOptimizerStep(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onPreOptimizerStep(args: $1, state: $2, control: &$3) }
  }
  func onOptimizerStep(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onOptimizerStep(args: $1, state: $2, control: &$3) }
  }
  func onSubstepEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onSubstepEnd(args: $1, state: $2, control: &$3) }
  }
  func onStepEnd(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onStepEnd(args: $1, state: $2, control: &$3) }
  }
  func onLog(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl, _ logs: [String: Double]) {
    c.shouldLog = false
    fire(a, s, &c) { $0.onLog(args: $1, state: $2, control: &$3, logs: logs) }
  }
  func onEvaluate(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl, _ metrics: [String: Double]) {
    c.shouldEvaluate = false
    fire(a, s, &c) { $0.onEvaluate(args: $1, state: $2, control: &$3, metrics: metrics) }
  }
  func onSave(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    c.shouldSave = false
    fire(a, s, &c) { $0.onSave(args: $1, state: $2, control: &$3) }
  }
  func onPredictionStep(_ a: TrainingArguments, _ s: TrainerState, _ c: inout TrainerControl) {
    fire(a, s, &c) { $0.onPredictionStep(args: $1, state: $2, control: &$3) }
  }
}

/// HF's `ProgressCallback`: the progress bar (step, ETA, and the last logged loss,
/// learning rate and throughput) with evaluation metrics printed under it as a dict.
public final class ProgressCallback: TrainerCallback {
  let unit: ThroughputUnit
  var bar: ProgressBar?
  var fields: KeyValuePairs<String, String> = [:]

  public init(unit: ThroughputUnit = .tokens) { self.unit = unit }

  public func onTrainBegin(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    bar = ProgressBar(total: state.maxSteps, label: "train", plainEvery: args.loggingSteps)
  }

  public func onStepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    if !control.shouldLog { bar?.update(state.globalStep, fields) }  // a log redraws it with fresh figures
  }

  public func onLog(args: TrainingArguments, state: TrainerState, control: inout TrainerControl, logs: [String: Double]) {
    if let loss = logs["loss"], let lr = logs["learning_rate"] {
      fields = [
        "loss": String(format: "%.4f", loss), "lr": String(format: "%.2e", lr),
        unit.progressLabel: String(format: "%.0f", logs[unit.logKey] ?? 0),
      ]
      bar?.update(state.globalStep, fields)
    }
    if logs.keys.contains(where: { $0.hasPrefix("eval_") }) { bar?.write(Self.describe(logs)) }
  }

  public func onTrainEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    bar?.finish()
    bar = nil
  }

  /// A log record as HF prints it: {'eval_loss': 1.234, 'epoch': 1.0}, metrics first.
  static func describe(_ logs: [String: Double]) -> String {
    let order = logs.keys.sorted { a, b in
      let ra = ["epoch", "step"].contains(a), rb = ["epoch", "step"].contains(b)
      return ra == rb ? a < b : rb
    }
    let items = order.map { k -> String in
      let v = logs[k]!
      let text = k == "step" ? String(Int(v)) : (abs(v) >= 1e-4 && abs(v) < 1e6 || v == 0 ? String(format: "%.4g", v) : String(format: "%.3e", v))
      return "'\(k)': \(text)"
    }
    return "{" + items.joined(separator: ", ") + "}"
  }
}
