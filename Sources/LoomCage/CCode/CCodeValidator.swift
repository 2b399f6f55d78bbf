// Placeholder for the C/C++ analyser (helper "cage-c" replaces this file). Fails closed until then.

public struct CCodeValidator: Validator {
  public let name = "c_code"
  /// Rules at or above this severity are reported.
  public var minimumSeverity: Severity
  /// Rule ids to run; nil runs every rule.
  public var enabledRules: Set<String>?

  public init(minimumSeverity: Severity = .note, enabledRules: Set<String>? = nil) {
    self.minimumSeverity = minimumSeverity
    self.enabledRules = enabledRules
  }

  public static let allRules: [RuleDescription] = []
  public var rules: [RuleDescription] { Self.allRules }

  public func validate(_ text: String) throws -> [Finding] {
    throw CageError("the C analyser is not built yet")
  }
}
