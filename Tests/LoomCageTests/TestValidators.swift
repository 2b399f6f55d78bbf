import Foundation

@testable import LoomCage

/// Deterministic validators for the policy tests: each finds every occurrence of a marker, with a fix to `replacement`.
struct MarkerValidator: Validator {
  var name = "marker"
  var marker = "BAD"
  var replacement = "ok"
  var severity = Severity.high
  var rules: [RuleDescription] { [RuleDescription(id: "test.marker", severity: severity, summary: "the marker")] }

  func validate(_ text: String) throws -> [Finding] {
    let index = TextIndex(text)
    let bytes = Array(text.utf8)
    let m = Array(marker.utf8)
    var out: [Finding] = []
    var i = 0
    while i + m.count <= bytes.count {
      if Array(bytes[i..<(i + m.count)]) == m {
        out.append(
          Finding(
            ruleId: "test.marker", severity: severity, location: index.location(i..<(i + m.count)),
            message: "marker \(marker)",
            fix: Fix(utf8Range: i..<(i + m.count), replacement: replacement, description: "replace the marker")))
        i += m.count
      } else {
        i += 1
      }
    }
    return out
  }
}

/// Always throws, like a parser that cannot read its input.
struct ThrowingValidator: Validator {
  let name = "throws"
  let rules: [RuleDescription] = []
  func validate(_ text: String) throws -> [Finding] { throw CageError("cannot parse") }
}

/// Finds nothing, slowly.
struct SlowValidator: Validator {
  let name = "slow"
  var seconds = 1.0
  let rules: [RuleDescription] = []
  func validate(_ text: String) throws -> [Finding] {
    Thread.sleep(forTimeInterval: seconds)
    return []
  }
}
