/// Compiler-style lines: `file:line:column: severity: message [rule] (CWE-n)`, then one summary line.
public enum TextReport {
  public static func render(_ artifacts: [CheckedArtifact]) -> String {
    var lines: [String] = []
    for a in artifacts {
      for f in a.findings {
        let place = f.location.map { "\(a.uri):\($0.line):\($0.column)" } ?? a.uri
        let cwe = f.cwe.isEmpty ? "" : " (\(ReportFormatting.cweText(f.cwe)))"
        lines.append("\(place): \(f.severity.rawValue): \(f.message) [\(f.ruleId)]\(cwe)")
        if let fix = f.fix { lines.append("  fix: \(fix.description)") }
      }
    }
    let failing = artifacts.filter { !$0.passed }.count
    let count = artifacts.reduce(0) { $0 + $1.findings.count }
    lines.append(
      failing == 0
        ? "\(artifacts.count) input(s) checked: all pass"
        : "\(artifacts.count) input(s) checked: \(failing) fail with \(count) finding(s)")
    return lines.joined(separator: "\n")
  }
}
