/// What the cage does when a validator fails, as guardrails-ai names its on-fail actions.
public enum OnFail: String, Codable, Sendable, CaseIterable {
  /// Refuse with an error.
  case exception
  /// Generate again (another seed, optionally with the findings appended to the prompt), up to `maxAttempts`.
  case reask
  /// The same as `reask` (guardrails-ai's older name).
  case regenerate
  /// Apply the findings' fixes, then validate the fixed text again.
  case fix
  /// Drop the offending lines, then validate again.
  case filter
  /// Return nothing.
  case refrain
  /// Log only; the text goes on unchanged.
  case noop

  /// The names a configuration may use.
  public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
  var regenerates: Bool { self == .reask || self == .regenerate }
}

/// One validator in a cage with its policy and limits.
public struct CageEntry: Sendable {
  public var validator: any Validator
  public var policy: OnFail
  /// Findings below this severity are ignored (recorded in the audit log's `ignored` count only).
  public var threshold: Severity
  /// Seconds the validator may take; past it the check fails (closed). Nil: no limit.
  public var timeout: Double?
  /// Attempts in all (the first generation included) while this validator asks to regenerate.
  public var maxAttempts: Int
  /// With `reask`: append the findings to the prompt of the next attempt.
  public var appendFindingsToPrompt: Bool
  /// Whether streamed text is checked with this validator at chunk boundaries; nil: unless it needs the whole text.
  public var stream: Bool?

  public init(
    _ validator: any Validator, policy: OnFail = .exception, threshold: Severity = .note, timeout: Double? = 10,
    maxAttempts: Int = 3, appendFindingsToPrompt: Bool = false, stream: Bool? = nil
  ) {
    self.validator = validator
    self.policy = policy
    self.threshold = threshold
    self.timeout = timeout
    self.maxAttempts = maxAttempts
    self.appendFindingsToPrompt = appendFindingsToPrompt
    self.stream = stream
  }
}
