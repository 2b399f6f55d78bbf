/// Length limits in characters (Unicode scalars' grapheme clusters, as Swift counts them) and lines. Too long is fixed
/// by truncating to the limit (guardrails-ai's ValidLength fix); too short has no fix.
public struct LengthValidator: Validator {
  public let name = "length"
  public var minChars: Int?
  public var maxChars: Int?
  public var maxLines: Int?

  public init(minChars: Int? = nil, maxChars: Int? = nil, maxLines: Int? = nil) {
    self.minChars = minChars
    self.maxChars = maxChars
    self.maxLines = maxLines
  }

  static let tooLong = RuleDescription(id: "text.length.too-long", severity: .medium, summary: "more characters than max_chars")
  static let tooShort = RuleDescription(id: "text.length.too-short", severity: .low, summary: "fewer characters than min_chars")
  static let tooManyLines = RuleDescription(
    id: "text.length.too-many-lines", severity: .medium, summary: "more lines than max_lines")
  public static let allRules = [tooLong, tooShort, tooManyLines]
  public var rules: [RuleDescription] { Self.allRules }

  public func validate(_ text: String) throws -> [Finding] {
    var findings: [Finding] = []
    let count = text.count
    if let maxChars, count > maxChars {
      let cut = text.utf8.distance(from: text.startIndex, to: text.index(text.startIndex, offsetBy: maxChars))
      let range = cut..<text.utf8.count
      findings.append(
        Finding(
          ruleId: Self.tooLong.id, severity: Self.tooLong.severity, location: TextIndex(text).location(range),
          message: "\(count) characters, more than max_chars \(maxChars)",
          fix: Fix(utf8Range: range, replacement: "", description: "truncate to \(maxChars) characters")))
    }
    if let minChars, count < minChars {
      findings.append(
        Finding(
          ruleId: Self.tooShort.id, severity: Self.tooShort.severity,
          message: "\(count) characters, fewer than min_chars \(minChars)"))
    }
    if let maxLines {
      let index = TextIndex(text)
      let lines = text.hasSuffix("\n") ? index.lineStarts.count - 1 : index.lineStarts.count
      if lines > maxLines {
        let range = index.lineStarts[maxLines]..<text.utf8.count
        findings.append(
          Finding(
            ruleId: Self.tooManyLines.id, severity: Self.tooManyLines.severity, location: index.location(range),
            message: "\(lines) lines, more than max_lines \(maxLines)",
            fix: Fix(utf8Range: range, replacement: "", description: "keep the first \(maxLines) lines")))
      }
    }
    return findings
  }
}
