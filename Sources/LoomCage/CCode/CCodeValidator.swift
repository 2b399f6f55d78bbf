import Foundation

// The C/C++ analyser behind the cage's "c_code" validator: extract the code (fenced ```c / ```cpp blocks, else the
// whole text), parse each block once with libclang (ClangParser), walk the tree once with the per-node and
// per-function rules (CAnalysis), and report findings in the coordinates of the text given. Code that does not
// parse is a finding (c.parse.syntax-error), and libclang failing outright throws, so the cage fails closed.

public struct CCodeValidator: Validator {
  public let name = "c_code"
  /// Rules at or above this severity are reported.
  public var minimumSeverity: Severity
  /// Rule ids to run; nil runs every rule.
  public var enabledRules: Set<String>?

  /// Longer texts are refused with an error (the cage then fails closed): parsing is linear but not free
  /// (about 1.5 s per MB on a loaded 2-core machine).
  public var maximumBytes: Int

  public init(minimumSeverity: Severity = .note, enabledRules: Set<String>? = nil, maximumBytes: Int = 16 << 20) {
    self.minimumSeverity = minimumSeverity
    self.enabledRules = enabledRules
    self.maximumBytes = maximumBytes
  }

  public static let allRules: [RuleDescription] = CRule.allCases.map(\.description)
  public var rules: [RuleDescription] { Self.allRules }

  public func validate(_ text: String) throws -> [Finding] {
    try analyze(text).findings
  }

  /// What one analysis found and what it cost.
  public struct Report: Sendable {
    public var findings: [Finding]
    /// Code blocks analysed (0 when the text's fences hold no C).
    public var blocks: Int
    /// libclang parse time over all blocks, milliseconds, and the number of parses (1 or 2 per block).
    public var parseMilliseconds: Double
    public var parses: Int
    /// Syntax-tree nodes in the analysed code.
    public var nodes: Int
  }

  public func analyze(_ text: String) throws -> Report {
    let enabled: (CRule) -> Bool = { rule in
      rule.severity >= minimumSeverity && (enabledRules?.contains(rule.rawValue) ?? true)
    }
    let size = text.utf8.count
    guard size <= maximumBytes else {
      throw CageError(
        "c_code: the text is \(size) bytes, over the C analyser's limit of \(maximumBytes) bytes; split it or raise "
          + "maximumBytes")
    }
    var report = Report(findings: [], blocks: 0, parseMilliseconds: 0, parses: 0, nodes: 0)
    for block in CodeExtraction.blocks(in: text) {
      report.blocks += 1
      if block.code.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) { continue }
      if let reason = ClangParser.pathologicalNesting(block.code) {
        CAnalysis(tree: CSyntaxTree(code: block.code, roots: [], nodes: [], truncated: true), block: block, enabled: enabled)
          .reportAndCollect(.tooDeep, "the code was not analysed: \(reason) would exhaust the parser's stack", into: &report)
        continue
      }
      let unit = try ClangParser.parse(block)
      report.parseMilliseconds += unit.parseMilliseconds
      report.parses += unit.parses
      report.nodes += unit.tree.nodes.count
      let analysis = CAnalysis(tree: unit.tree, block: block, enabled: enabled)
      if let first = unit.syntaxErrors.first {
        let more = unit.syntaxErrors.count > 1 ? " (and \(unit.syntaxErrors.count - 1) more syntax errors)" : ""
        analysis.report(
          .syntaxError, start: first.offset, end: first.offset,
          "the code does not parse as \(block.language == .c ? "C" : "C++"): \(first.message)\(more); only what "
            + "parsed was checked")
      }
      if unit.tree.truncated {
        analysis.report(
          .tooDeep, start: nil, end: nil,
          "the code nests deeper than \(CSyntaxTree.maximumDepth) levels; the deepest parts were not checked")
      }
      // The rules read the unit's cursors; it must outlive them (its deinit hands it to the next parse).
      withExtendedLifetime(unit) { analysis.run() }
      report.findings += analysis.findings
    }
    report.findings.sort {
      ($0.location?.utf8Range?.lowerBound ?? -1, $0.ruleId) < ($1.location?.utf8Range?.lowerBound ?? -1, $1.ruleId)
    }
    return report
  }
}
