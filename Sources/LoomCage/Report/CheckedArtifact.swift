import Foundation

/// One checked file (or stdin): its name, its text when it could be read, and every validator's verdict.
public struct CheckedArtifact: Sendable {
  public var uri: String
  public var text: String?
  public var verdicts: [ValidatorVerdict]

  public init(uri: String, text: String?, verdicts: [ValidatorVerdict]) {
    self.uri = uri
    self.text = text
    self.verdicts = verdicts
  }

  public var findings: [Finding] { verdicts.flatMap(\.findings) }
  public var passed: Bool { verdicts.allSatisfy { $0.result == .pass } }

  static let unreadable = RuleDescription(
    id: "cage.input.unreadable", severity: .high,
    summary: "input that is not UTF-8 text, contains NUL bytes or is larger than max_input_bytes (fails closed)")

  /// Reads `data` as text: binary (a NUL byte), non-UTF-8 or oversized input fails closed with a finding.
  public static func reading(_ data: Data, uri: String, maxBytes: Int) -> (text: String?, failure: CheckedArtifact?) {
    func fail(_ why: String) -> (String?, CheckedArtifact?) {
      let f = Finding(ruleId: unreadable.id, severity: .high, message: "\(uri): \(why); nothing was checked")
      let v = ValidatorVerdict(
        validator: "input", result: .error, policy: .exception, findings: [f], ignored: 0, error: why, seconds: 0)
      return (nil, CheckedArtifact(uri: uri, text: nil, verdicts: [v]))
    }
    if data.count > maxBytes { return fail("\(data.count) bytes, more than max_input_bytes \(maxBytes)") }
    if let nul = data.firstIndex(of: 0) { return fail("binary input (a NUL byte at offset \(nul - data.startIndex))") }
    guard let text = String(validating: data, as: UTF8.self) else { return fail("not valid UTF-8 text") }
    return (text, nil)
  }
}

/// Shared pieces of the report formats.
enum ReportFormatting {
  static func cweText(_ cwe: [Int]) -> String { cwe.map { "CWE-\($0)" }.joined(separator: ", ") }

  static func json(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
  }
}
