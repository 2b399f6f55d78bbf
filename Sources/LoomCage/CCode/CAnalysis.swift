import CClang

// One analysis of one code block: a single walk over the parsed tree hands each node to the per-node rules
// (calls, declarations, assignments); the per-function rules (allocation checks, use after free, TOCTOU) scan each
// function body's nodes in source order. Findings carry locations and fixes in the coordinates of the whole text.

final class CAnalysis {
  let tree: CSyntaxTree
  let block: CCodeBlock
  let enabled: (CRule) -> Bool
  private(set) var findings: [Finding] = []
  private let lineStarts: [Int]

  init(tree: CSyntaxTree, block: CCodeBlock, enabled: @escaping (CRule) -> Bool) {
    self.tree = tree
    self.block = block
    self.enabled = enabled
    var starts = [0]
    for (i, byte) in tree.code.enumerated() where byte == UInt8(ascii: "\n") { starts.append(i + 1) }
    lineStarts = starts
  }

  func run() {
    for node in tree.nodes {
      switch node.kind {
      case CXCursor_CallExpr: CallRules.check(node, in: self)
      case CXCursor_VarDecl: SecretRules.checkDeclaration(node, in: self)
      case CXCursor_BinaryOperator: SecretRules.checkAssignment(node, in: self)
      case CXCursor_DeclRefExpr: CallRules.checkReference(node, in: self)
      case CXCursor_FunctionDecl, CXCursor_CXXMethod:
        if let body = node.children.last(where: { $0.kind == CXCursor_CompoundStmt }) {
          FlowRules.check(function: node, body: body, in: self)
        }
      default: break
      }
    }
  }

  // MARK: Reporting

  func location(_ start: Int, _ end: Int) -> SourceLocation {
    let (line, column) = lineColumn(start)
    let (endLine, endColumn) = lineColumn(max(start, end))
    return SourceLocation(
      line: line, column: column, endLine: endLine, endColumn: endColumn,
      utf8Range: (block.utf8Offset + start)..<(block.utf8Offset + max(start, end)))
  }

  private func lineColumn(_ offset: Int) -> (Int, Int) {
    var low = 0
    var high = lineStarts.count - 1
    while low < high {
      let mid = (low + high + 1) / 2
      if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
    }
    return (block.lineOffset + low + 1, offset - lineStarts[low] + 1)
  }

  func report(_ rule: CRule, at node: CNode, _ message: String, fix: (replacement: String, description: String)? = nil)
  {
    report(rule, start: node.start, end: node.end, message, fix: fix.map { (node.start..<node.end, $0.replacement, $0.description) })
  }

  func report(
    _ rule: CRule, start: Int?, end: Int?, _ message: String,
    fix: (range: Range<Int>, replacement: String, description: String)? = nil
  ) {
    guard enabled(rule) else { return }
    let where_ = start.map { location($0, end ?? $0) }
    let made = fix.map {
      Fix(
        utf8Range: (block.utf8Offset + $0.range.lowerBound)..<(block.utf8Offset + $0.range.upperBound),
        replacement: $0.replacement, description: $0.description)
    }
    findings.append(
      Finding(ruleId: rule.rawValue, cwe: rule.cwe, severity: rule.severity, location: where_, message: message, fix: made))
  }

  /// A whole-block finding for a block that is not parsed at all.
  func reportAndCollect(_ rule: CRule, _ message: String, into collected: inout CCodeValidator.Report) {
    report(rule, start: nil, end: nil, message)
    collected.findings += findings
  }

  // MARK: Shared helpers

  func text(_ node: CNode) -> String { tree.text(node) }

  /// The function (definition) a node lies in.
  func enclosingFunction(_ node: CNode) -> CNode? {
    node.ancestor { $0.kind == CXCursor_FunctionDecl || $0.kind == CXCursor_CXXMethod }
  }

  /// A constant string: a literal, a macro expanding to one, or a translation lookup of one (`gettext("…")`).
  func isConstantString(_ node: CNode) -> Bool {
    let inner = node.stripped
    if inner.kind == CXCursor_StringLiteral { return true }
    if inner.kind == CXCursor_CallExpr, ["gettext", "_", "dgettext", "ngettext", "N_"].contains(inner.spelling),
      let first = inner.arguments.last, first.isStringLiteral
    {
      return true
    }
    return false
  }

  /// A null pointer constant as written (`NULL`, `0`, `nullptr`).
  func isNullConstant(_ node: CNode) -> Bool {
    let written = text(node).trimmingCharacters(in: .whitespaces)
    return written == "NULL" || written == "0" || written == "nullptr" || written == "((void *)0)"
      || node.integerValue == 0
  }

  /// Whether an earlier condition (`if`, `while`, `for`, `?:`, `assert`) in the function compares one of `names`
  /// with a relational operator: a bound check that makes a later length or size safe.
  func isBoundedEarlier(_ names: Set<String>, before node: CNode) -> Bool {
    guard !names.isEmpty, let function = enclosingFunction(node) else { return false }
    for index in (function.order + 1)..<node.order {
      let candidate = tree.nodes[index]
      guard candidate.kind == CXCursor_BinaryOperator else { continue }
      let op = tree.binaryOperator(candidate)
      guard op == "<" || op == "<=" || op == ">" || op == ">=" else { continue }
      if candidate.contains(where: { ($0.kind == CXCursor_DeclRefExpr || $0.kind == CXCursor_MemberRefExpr) && names.contains($0.spelling) }) {
        return true
      }
    }
    return false
  }

  /// Names referenced in an expression (variables and members).
  func referencedNames(_ node: CNode) -> Set<String> {
    var names = Set<String>()
    node.forEach {
      if $0.kind == CXCursor_DeclRefExpr || $0.kind == CXCursor_MemberRefExpr { names.insert($0.spelling) }
    }
    return names
  }
}

/// Identifier words: `client_key_der_2048` → client, key, der, 2048; `wc_Arc4SetKey` → wc, arc4, set, key.
enum CNames {
  static func words(_ identifier: String) -> [String] {
    var words: [String] = []
    var current = ""
    var previous: Character = " "
    for character in identifier {
      if !(character.isLetter || character.isNumber) {
        if !current.isEmpty { words.append(current.lowercased()) }
        current = ""
      } else if character.isUppercase && (previous.isLowercase || previous.isNumber) && !current.isEmpty {
        words.append(current.lowercased())
        current = String(character)
      } else {
        current.append(character)
      }
      previous = character
    }
    if !current.isEmpty { words.append(current.lowercased()) }
    return words
  }
}
