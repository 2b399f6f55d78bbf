import Foundation

/// Regular expressions from a configuration: `forbid` patterns must not occur (each match is a finding, masked by the
/// fix), `require` patterns must occur somewhere (guardrails-ai's RegexMatch with `search`).
public struct RegexValidator: Validator {
  public let name = "regex"
  public let forbid: [NSRegularExpression]
  public let require: [NSRegularExpression]
  public var severity: Severity
  public var mask: String

  public init(forbid: [NSRegularExpression] = [], require: [NSRegularExpression] = [], severity: Severity = .medium, mask: String = "[REMOVED]") {
    self.forbid = forbid
    self.require = require
    self.severity = severity
    self.mask = mask
  }

  static let forbidden = RuleDescription(id: "text.regex.forbidden", severity: .medium, summary: "text matches a forbidden pattern")
  static let missing = RuleDescription(
    id: "text.regex.required-missing", severity: .medium, summary: "text does not match a required pattern")
  public static let allRules = [forbidden, missing]
  public var rules: [RuleDescription] { Self.allRules }

  public func validate(_ text: String) throws -> [Finding] {
    let index = TextIndex(text)
    var findings = forbid.flatMap { regex in
      index.matches(regex).map { m in
        Finding(
          ruleId: Self.forbidden.id, severity: severity, location: index.location(m.range),
          message: "matches forbidden pattern \(regex.pattern)",
          fix: Fix(utf8Range: m.range, replacement: mask, description: "remove the match"))
      }
    }
    for regex in require where regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
      findings.append(
        Finding(ruleId: Self.missing.id, severity: severity, message: "does not match required pattern \(regex.pattern)"))
    }
    return findings
  }
}
