/// HF's `TrainerControl`: what callbacks ask the training loop to do next. The loop
/// honours every flag and resets each once acted on (should_log after a log, …).
public struct TrainerControl: Equatable, Sendable {
  public var shouldTrainingStop = false
  public var shouldEpochStop = false
  public var shouldSave = false
  public var shouldEvaluate = false
  public var shouldLog = false

  public init() {}

  /// Older name of `shouldTrainingStop`.
  public var shouldStop: Bool {
    get { shouldTrainingStop }
    set { shouldTrainingStop = newValue }
  }
}
