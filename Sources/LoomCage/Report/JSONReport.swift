import Foundation

/// `{"passed": bool, "results": [{"uri", "passed", "verdicts": [...]}]}` with findings as `Finding` encodes them.
public enum JSONReport {
  struct Report: Encodable {
    var passed: Bool
    var results: [Result]
  }
  struct Result: Encodable {
    var uri: String
    var passed: Bool
    var verdicts: [ValidatorVerdict]
  }

  public static func render(_ artifacts: [CheckedArtifact]) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let report = Report(
      passed: artifacts.allSatisfy(\.passed),
      results: artifacts.map { Result(uri: $0.uri, passed: $0.passed, verdicts: $0.verdicts) })
    return String(decoding: try e.encode(report), as: UTF8.self)
  }
}
