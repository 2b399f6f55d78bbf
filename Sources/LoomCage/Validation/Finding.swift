// What a validator reports: rule, CWE, severity, where, why, and optionally how to fix it.
// These types are the seam between the validators (C analyser, text, model-based) and the cage,
// its policies, the audit log and the report formats (text, JSON, SARIF 2.1.0).

/// How serious a finding is. SARIF's `level` derives from it (`note`; `warning` for low/medium; `error` above).
public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
  case note, low, medium, high, critical

  public static func < (lhs: Severity, rhs: Severity) -> Bool {
    allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
  }
}

/// Where a finding is in the validated text. Lines and columns count from 1 (columns in UTF-8 bytes, as compilers
/// and SARIF's default `columnKind` do); `utf8Range` is the byte span `[start, end)` in the text as given.
public struct SourceLocation: Codable, Sendable, Equatable {
  public var line: Int
  public var column: Int
  public var endLine: Int?
  public var endColumn: Int?
  public var utf8Range: Range<Int>?

  public init(line: Int, column: Int, endLine: Int? = nil, endColumn: Int? = nil, utf8Range: Range<Int>? = nil) {
    self.line = line
    self.column = column
    self.endLine = endLine
    self.endColumn = endColumn
    self.utf8Range = utf8Range
  }
}

/// A replacement that removes the problem: the bytes in `utf8Range` of the validated text become `replacement`.
public struct Fix: Codable, Sendable, Equatable {
  public var utf8Range: Range<Int>
  public var replacement: String
  public var description: String

  public init(utf8Range: Range<Int>, replacement: String, description: String) {
    self.utf8Range = utf8Range
    self.replacement = replacement
    self.description = description
  }
}

public struct Finding: Codable, Sendable, Equatable {
  /// A stable rule id such as `c.dangerous-function.gets` or `text.secret.private-key`.
  public var ruleId: String
  /// CWE numbers that apply (empty when none does).
  public var cwe: [Int]
  public var severity: Severity
  /// Nil when the finding concerns the whole text (e.g. "does not parse", "too long").
  public var location: SourceLocation?
  public var message: String
  public var fix: Fix?

  public init(
    ruleId: String, cwe: [Int] = [], severity: Severity, location: SourceLocation? = nil, message: String,
    fix: Fix? = nil
  ) {
    self.ruleId = ruleId
    self.cwe = cwe
    self.severity = severity
    self.location = location
    self.message = message
    self.fix = fix
  }
}

/// One rule a validator can report, for `loom cage rules` and SARIF's `tool.driver.rules`.
public struct RuleDescription: Codable, Sendable, Equatable {
  public var id: String
  public var cwe: [Int]
  public var severity: Severity
  public var summary: String

  public init(id: String, cwe: [Int] = [], severity: Severity, summary: String) {
    self.id = id
    self.cwe = cwe
    self.severity = severity
    self.summary = summary
  }
}
