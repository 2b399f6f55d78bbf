import Foundation

/// Secrets in text: PEM private-key blocks, API-key and token shapes (AWS, GitHub, Slack, OpenAI-style), JWTs, and
/// high-entropy strings (detect-secrets' idea: Shannon entropy per character over a base64 or hex alphabet).
/// Each finding's fix masks the secret as `[REDACTED]`.
public struct SecretsValidator: Validator {
  public let name = "secrets"
  /// Bits per character at or above which a base64-alphabet token counts as a secret (detect-secrets: 4.5).
  public var base64EntropyThreshold: Double
  /// The same for tokens of hex digits only (detect-secrets: 3.0).
  public var hexEntropyThreshold: Double
  /// Shortest token the entropy rule looks at.
  public var minEntropyLength: Int

  public init(base64EntropyThreshold: Double = 4.5, hexEntropyThreshold: Double = 3.0, minEntropyLength: Int = 20) {
    self.base64EntropyThreshold = base64EntropyThreshold
    self.hexEntropyThreshold = hexEntropyThreshold
    self.minEntropyLength = minEntropyLength
  }

  static let shapes: [(rule: RuleDescription, regex: NSRegularExpression)] = [
    (
      RuleDescription(
        id: "text.secret.private-key", cwe: [798, 321], severity: .critical, summary: "PEM private-key block"),
      builtInRegex(
        "-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\\s\\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\\s\\S]*$)"
      )
    ),
    (
      RuleDescription(id: "text.secret.aws-access-key", cwe: [798], severity: .high, summary: "AWS access key id"),
      builtInRegex("\\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\\b")
    ),
    (
      RuleDescription(id: "text.secret.github-token", cwe: [798], severity: .high, summary: "GitHub token"),
      builtInRegex("\\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\\b")
    ),
    (
      RuleDescription(id: "text.secret.slack-token", cwe: [798], severity: .high, summary: "Slack token or webhook"),
      builtInRegex(
        "\\bxox[abposr]-[A-Za-z0-9-]{10,}|https://hooks\\.slack\\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+"
      )
    ),
    (
      RuleDescription(id: "text.secret.openai-key", cwe: [798], severity: .high, summary: "OpenAI-style API key (sk-…)"),
      builtInRegex("\\bsk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_-]{20,}")
    ),
    (
      RuleDescription(id: "text.secret.jwt", cwe: [798], severity: .medium, summary: "JSON Web Token"),
      builtInRegex("\\beyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{10,}")
    ),
  ]

  static let entropyRule = RuleDescription(
    id: "text.secret.high-entropy", cwe: [798], severity: .medium,
    summary: "high-entropy string (likely a key or token)")
  static let tokenRegex = builtInRegex("[A-Za-z0-9+/=_-]+")

  public static let allRules = shapes.map(\.rule) + [entropyRule]
  public var rules: [RuleDescription] { Self.allRules }

  /// Shannon entropy of `s` in bits per character.
  public static func entropy(_ s: Substring) -> Double {
    var counts: [Character: Int] = [:]
    for c in s { counts[c, default: 0] += 1 }
    let n = Double(s.count)
    return counts.values.reduce(0) { h, k in
      let p = Double(k) / n
      return h - p * log2(p)
    }
  }

  public func validate(_ text: String) throws -> [Finding] {
    let index = TextIndex(text)
    var findings: [Finding] = []
    var covered: [Range<Int>] = []
    for (rule, regex) in Self.shapes {
      for m in index.matches(regex) where !covered.contains(where: { $0.overlaps(m.range) }) {
        covered.append(m.range)
        findings.append(finding(rule, m.range, index, "\(rule.summary) in the text"))
      }
    }
    for m in index.matches(Self.tokenRegex) where m.range.count >= minEntropyLength {
      guard !covered.contains(where: { $0.overlaps(m.range) }), let token = m.groups[0] else { continue }
      // Trailing base64 padding and separators carry no information.
      let core = token.trimmingCharacters(in: CharacterSet(charactersIn: "=-_"))[...]
      guard core.count >= minEntropyLength else { continue }
      let isHex = core.allSatisfy(\.isHexDigit)
      let h = Self.entropy(core)
      let limit = isHex ? hexEntropyThreshold : base64EntropyThreshold
      // A base64-looking token needs both letters and digits: long words and identifiers are not secrets.
      guard h >= limit, isHex || (core.contains(where: \.isNumber) && core.contains(where: \.isLetter)) else {
        continue
      }
      findings.append(
        finding(
          Self.entropyRule, m.range, index,
          "\(isHex ? "hex" : "base64-alphabet") string of \(core.count) characters with "
            + String(format: "%.2f bits of entropy per character (threshold %.2f)", h, limit)))
    }
    return findings.sorted { ($0.location?.utf8Range?.lowerBound ?? 0) < ($1.location?.utf8Range?.lowerBound ?? 0) }
  }

  func finding(_ rule: RuleDescription, _ range: Range<Int>, _ index: TextIndex, _ message: String) -> Finding {
    Finding(
      ruleId: rule.id, cwe: rule.cwe, severity: rule.severity, location: index.location(range), message: message,
      fix: Fix(utf8Range: range, replacement: "[REDACTED]", description: "mask the secret"))
  }
}
