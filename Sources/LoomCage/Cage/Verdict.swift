/// Where in the generation a text is checked.
public enum CageStage: String, Codable, Sendable {
  case input, output, stream
}

/// One validator's result on one text.
public struct ValidatorVerdict: Codable, Sendable, Equatable {
  public enum Result: String, Codable, Sendable {
    /// No finding at or above the threshold.
    case pass
    /// Findings; the policy decided what happened (see `policy`).
    case fail
    /// Findings removed by the policy's fixes or filtering; the re-validated text passed.
    case fixed
    /// The validator threw (cannot parse, crashed): a failure, never a pass.
    case error
    /// The validator ran past its time limit: a failure, never a pass.
    case timeout
  }

  public var validator: String
  public var result: Result
  public var policy: OnFail
  public var findings: [Finding]
  /// Findings below the validator's threshold, not acted on.
  public var ignored: Int
  /// The error or time-out, for `error` and `timeout`.
  public var error: String?
  public var seconds: Double

  public var passed: Bool { result == .pass || result == .fixed || (result == .fail && policy == .noop) }
}

/// What the cage decided about one text.
public enum CageDecision: Equatable, Sendable {
  /// Release `text` (fixes and filters applied).
  case release
  /// Refuse with an error (policy `exception`, a failed fix or filter, or a validator that could not check).
  case refuse
  /// Generate again (policy `reask`/`regenerate`), within the validator's `maxAttempts`.
  case regenerate
  /// Release nothing (policy `refrain`).
  case refrain
}

/// A checked text: the text after fixes and filters, every verdict, and the decision.
public struct CageCheck: Sendable {
  public var text: String
  public var verdicts: [ValidatorVerdict]
  public var decision: CageDecision
  /// The entry that decided a non-release (nil when released).
  public var decidingEntry: CageEntry?

  public var released: Bool { decision == .release }
  public var findings: [Finding] { verdicts.flatMap(\.findings) }

  /// One line per failing verdict, for errors and re-ask prompts.
  public var summary: String {
    verdicts.filter { !$0.passed || $0.result == .fixed }.map { v in
      let what = v.error ?? v.findings.map { "\($0.ruleId): \($0.message)" }.joined(separator: "; ")
      return "\(v.validator) (\(v.result.rawValue), policy \(v.policy.rawValue)): \(what)"
    }.joined(separator: "\n")
  }
}
