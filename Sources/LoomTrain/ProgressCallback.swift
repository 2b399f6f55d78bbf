import Foundation

/// HF's `ProgressCallback`: the progress bar (step, ETA, and the last logged loss,
/// learning rate and throughput) with evaluation metrics printed under it as a dict.
public final class ProgressCallback: TrainerCallback {
  let unit: ThroughputUnit
  var bar: ProgressBar?
  var fields: KeyValuePairs<String, String> = [:]

  public init(unit: ThroughputUnit = .tokens) { self.unit = unit }

  public func onTrainBegin(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {
    bar = ProgressBar(total: state.maxSteps, label: "train", plainEvery: args.loggingSteps)
  }

  public func onStepEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl)
  {
    // A log step redraws the bar with fresh figures in onLog.
    if !control.shouldLog { bar?.update(state.globalStep, fields) }
  }

  public func onLog(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl,
    logs: [String: Double]
  ) {
    if let loss = logs["loss"], let lr = logs["learning_rate"] {
      fields = [
        "loss": Self.number(loss, "%.4f"), "lr": String(format: "%.2e", lr),
        unit.progressLabel: String(format: "%.0f", logs[unit.logKey] ?? 0),
      ]
      bar?.update(state.globalStep, fields)
    }
    if logs.keys.contains(where: { $0.hasPrefix("eval_") }) { bar?.write(Self.describe(logs)) }
  }

  public func onTrainEnd(
    args: TrainingArguments, state: TrainerState, control: inout TrainerControl
  ) {
    bar?.finish()
    bar = nil
  }

  /// `value` in `format`, with NaN and infinities as Python prints them (nan, inf, -inf;
  /// C's printf writes -nan for some NaNs).
  public static func number(_ value: Double, _ format: String) -> String {
    value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : String(format: format, value)
  }

  /// A log record as HF prints it: {'eval_loss': 1.234, 'epoch': 1.0}, metrics first.
  static func describe(_ logs: [String: Double]) -> String {
    let order = logs.keys.sorted { a, b in
      let ra = ["epoch", "step"].contains(a)
      let rb = ["epoch", "step"].contains(b)
      return ra == rb ? a < b : rb
    }
    let items = order.map { k -> String in
      let v = logs[k]!
      let text =
        !v.isFinite
        ? number(v, "")
        : k == "step"
        ? String(Int(v))
        : (abs(v) >= 1e-4 && abs(v) < 1e6 || v == 0
          ? String(format: "%.4g", v) : String(format: "%.3e", v))
      return "'\(k)': \(text)"
    }
    return "{" + items.joined(separator: ", ") + "}"
  }
}
