import Foundation

/// Personal data: e-mail addresses, phone numbers and payment-card numbers (13–19 digits that pass the Luhn check).
/// Fixes mask each entity with Presidio's entity name (`<EMAIL_ADDRESS>`, …), as guardrails-ai's DetectPII does.
public struct PIIValidator: Validator {
  public let name = "pii"
  public init() {}

  static let email = RuleDescription(id: "text.pii.email", cwe: [359], severity: .medium, summary: "e-mail address")
  static let phone = RuleDescription(id: "text.pii.phone", cwe: [359], severity: .medium, summary: "phone number")
  static let card = RuleDescription(
    id: "text.pii.credit-card", cwe: [359], severity: .high, summary: "payment-card number (Luhn-valid)")
  public static let allRules = [email, phone, card]
  public var rules: [RuleDescription] { Self.allRules }

  static let emailRegex = builtInRegex(
    "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\\.[A-Za-z]{2,}\\b")
  // Digits with optional spaces or dashes between them; the Luhn check decides.
  static let cardRegex = builtInRegex("(?<![\\d-])\\d(?:[ -]?\\d){12,18}(?![\\d-])")
  // International (+CC …) or national shapes with separators: (555) 123-4567, 555-123-4567, +44 20 7946 0958.
  static let phoneRegex = builtInRegex(
    "(?<![\\w+])(?:\\+\\d{1,3}[ .-]?)?(?:\\(\\d{1,4}\\)[ .-]?|\\d{2,4}[ .-])(?:\\d{2,4}[ .-])?\\d{3,4}[ .-]?\\d{3,4}(?![\\w])")

  /// The Luhn checksum of a digit string (the last digit is the check digit).
  public static func luhnValid(_ digits: [Int]) -> Bool {
    guard digits.count >= 2 else { return false }
    var sum = 0
    for (i, d) in digits.reversed().enumerated() {
      if i % 2 == 1 {
        let twice = d * 2
        sum += twice > 9 ? twice - 9 : twice
      } else {
        sum += d
      }
    }
    return sum % 10 == 0
  }

  public func validate(_ text: String) throws -> [Finding] {
    let index = TextIndex(text)
    var findings: [Finding] = []
    var covered: [Range<Int>] = []
    func add(_ rule: RuleDescription, _ range: Range<Int>, _ entity: String, _ message: String) {
      covered.append(range)
      findings.append(
        Finding(
          ruleId: rule.id, cwe: rule.cwe, severity: rule.severity, location: index.location(range), message: message,
          fix: Fix(utf8Range: range, replacement: "<\(entity)>", description: "mask the \(rule.summary)")))
    }
    for m in index.matches(Self.emailRegex) { add(Self.email, m.range, "EMAIL_ADDRESS", "e-mail address in the text") }
    for m in index.matches(Self.cardRegex) where !covered.contains(where: { $0.overlaps(m.range) }) {
      let digits = (m.groups[0] ?? "").compactMap(\.wholeNumberValue)
      guard (13...19).contains(digits.count), Self.luhnValid(digits) else { continue }
      add(Self.card, m.range, "CREDIT_CARD", "\(digits.count)-digit card number that passes the Luhn check")
    }
    for m in index.matches(Self.phoneRegex) where !covered.contains(where: { $0.overlaps(m.range) }) {
      let digits = (m.groups[0] ?? "").filter(\.isNumber).count
      guard (7...15).contains(digits) else { continue }
      add(Self.phone, m.range, "PHONE_NUMBER", "phone number in the text")
    }
    return findings.sorted { ($0.location?.utf8Range?.lowerBound ?? 0) < ($1.location?.utf8Range?.lowerBound ?? 0) }
  }
}
