import Foundation

/// SARIF 2.1.0, what code-scanning tools read: one run whose driver lists the rules (id, shortDescription,
/// defaultConfiguration.level, properties.cwe and tags), and one result per finding with its level, message,
/// physical location (region columns in UTF-16 code units, SARIF's default columnKind; byte offsets alongside) and
/// fixes as replacements of byte regions.
public enum SARIFReport {
  public static let schema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

  /// SARIF's level of a severity.
  public static func level(_ s: Severity) -> String {
    switch s {
    case .note: return "note"
    case .low, .medium: return "warning"
    case .high, .critical: return "error"
    }
  }

  public static func object(_ artifacts: [CheckedArtifact], rules known: [RuleDescription]) -> [String: Any] {
    var rules = known
    var ids = Set(known.map(\.id))
    for f in artifacts.flatMap(\.findings) where !ids.contains(f.ruleId) {
      // A finding of a rule nobody listed still gets a descriptor, so every ruleIndex resolves.
      ids.insert(f.ruleId)
      rules.append(RuleDescription(id: f.ruleId, cwe: f.cwe, severity: f.severity, summary: f.ruleId))
    }
    let index = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($1.id, $0) })
    let descriptors: [[String: Any]] = rules.map { r in
      [
        "id": r.id,
        "shortDescription": ["text": r.summary],
        "defaultConfiguration": ["level": level(r.severity)],
        "properties": [
          "cwe": r.cwe.map { "CWE-\($0)" },
          "tags": ["security"] + r.cwe.map { "external/cwe/cwe-\($0)" },
          "severity": r.severity.rawValue,
        ] as [String: Any],
      ]
    }
    var results: [[String: Any]] = []
    for a in artifacts {
      let uri = a.uri.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? a.uri
      let textIndex = a.text.map(TextIndex.init)
      for f in a.findings {
        var physical: [String: Any] = ["artifactLocation": ["uri": uri]]
        if let loc = f.location { physical["region"] = region(loc, textIndex) }
        var result: [String: Any] = [
          "ruleId": f.ruleId,
          "ruleIndex": index[f.ruleId]!,
          "level": level(f.severity),
          "message": ["text": f.message],
          "locations": [["physicalLocation": physical]],
          "properties": ["severity": f.severity.rawValue, "cwe": f.cwe.map { "CWE-\($0)" }] as [String: Any],
        ]
        if let fix = f.fix {
          result["fixes"] = [
            [
              "description": ["text": fix.description],
              "artifactChanges": [
                [
                  "artifactLocation": ["uri": uri],
                  "replacements": [
                    [
                      "deletedRegion": ["byteOffset": fix.utf8Range.lowerBound, "byteLength": fix.utf8Range.count],
                      "insertedContent": ["text": fix.replacement],
                    ] as [String: Any]
                  ],
                ] as [String: Any]
              ],
            ] as [String: Any]
          ]
        }
        results.append(result)
      }
    }
    return [
      "$schema": schema,
      "version": "2.1.0",
      "runs": [
        [
          "tool": [
            "driver": [
              "name": "loom-cage",
              "rules": descriptors,
            ] as [String: Any]
          ],
          "columnKind": "utf16CodeUnits",
          "results": results,
        ] as [String: Any]
      ],
    ]
  }

  /// A region in lines and UTF-16 columns (converted from byte columns when the text is known), with byte offsets.
  static func region(_ loc: SourceLocation, _ index: TextIndex?) -> [String: Any] {
    var r: [String: Any] = ["startLine": loc.line, "startColumn": utf16Column(loc.line, loc.column, index)]
    if let endLine = loc.endLine { r["endLine"] = endLine }
    if let endColumn = loc.endColumn { r["endColumn"] = utf16Column(loc.endLine ?? loc.line, endColumn, index) }
    if let bytes = loc.utf8Range {
      r["byteOffset"] = bytes.lowerBound
      r["byteLength"] = bytes.count
    }
    return r
  }

  static func utf16Column(_ line: Int, _ byteColumn: Int, _ index: TextIndex?) -> Int {
    guard let index, line >= 1, line <= index.lineStarts.count else { return byteColumn }
    let start = index.lineStarts[line - 1]
    let prefix = index.substring(start..<min(start + byteColumn - 1, index.text.utf8.count))
    return prefix.utf16.count + 1
  }

  public static func render(_ artifacts: [CheckedArtifact], rules: [RuleDescription]) throws -> String {
    try ReportFormatting.json(object(artifacts, rules: rules))
  }
}
