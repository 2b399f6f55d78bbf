import CClang
import Foundation

// A Swift mirror of the part of libclang's AST that lies in the analysed code: one walk builds it, then every rule
// reads it (parents, source order, text) without calling back into libclang except for types and constants.

final class CNode {
  let kind: CXCursorKind
  let cursor: CXCursor
  /// clang's spelling: the callee for a call, the name for declarations and references (read on demand).
  lazy var spelling: String = clang_getCursorSpelling(cursor).consume()
  /// Byte span `[start, end)` in the analysed code (macro uses map to their expansion site).
  let start: Int
  let end: Int
  /// Position in the pre-order walk: source order for rules that scan "what comes after".
  let order: Int
  unowned(unsafe) let parent: CNode?
  var children: [CNode] = []
  /// One past the last pre-order index of this node's subtree.
  var subtreeEnd: Int = 0
  /// Set where the walk stopped descending (the tree was deeper than `CSyntaxTree.maximumDepth`).
  var cut = false

  init(kind: CXCursorKind, cursor: CXCursor, start: Int, end: Int, order: Int, parent: CNode?) {
    self.kind = kind
    self.cursor = cursor
    self.start = start
    self.end = end
    self.order = order
    self.parent = parent
  }

  func isAncestor(of other: CNode) -> Bool {
    other.order > order && other.order < subtreeEnd
  }

  /// The node with implicit conversions, parentheses and casts removed.
  var stripped: CNode {
    var node = self
    while (node.kind == CXCursor_UnexposedExpr || node.kind == CXCursor_ParenExpr || node.kind == CXCursor_CStyleCastExpr)
      && !node.children.isEmpty
    {
      node = node.children[node.children.count - 1]
    }
    return node
  }

  /// The nearest ancestor that is not an implicit conversion, parenthesis or cast.
  var semanticParent: CNode? {
    var node = parent
    while let current = node,
      current.kind == CXCursor_UnexposedExpr || current.kind == CXCursor_ParenExpr
        || current.kind == CXCursor_CStyleCastExpr
    {
      node = current.parent
    }
    return node
  }

  /// Call arguments (the callee expression is the first child and is left out).
  var arguments: [CNode] {
    guard kind == CXCursor_CallExpr else { return [] }
    let count = Int(clang_Cursor_getNumArguments(cursor))
    guard count > 0, children.count >= count else { return [] }
    return Array(children.suffix(count))
  }

  func ancestor(where predicate: (CNode) -> Bool) -> CNode? {
    var node = parent
    while let current = node {
      if predicate(current) { return current }
      node = current.parent
    }
    return nil
  }

  /// Every node of this subtree in pre-order (self first).
  func forEach(_ body: (CNode) -> Void) {
    var stack: [CNode] = [self]
    while let node = stack.popLast() {
      body(node)
      stack.append(contentsOf: node.children.reversed())
    }
  }

  func contains(where predicate: (CNode) -> Bool) -> Bool {
    var stack: [CNode] = [self]
    while let node = stack.popLast() {
      if predicate(node) { return true }
      stack.append(contentsOf: node.children)
    }
    return false
  }

  var isStringLiteral: Bool { stripped.kind == CXCursor_StringLiteral }

  /// The value of a string literal (also one from a macro, or adjacent literals joined), escapes decoded.
  /// (clang_Cursor_Evaluate does not evaluate a bare StringLiteral; its spelling is the joined literal.)
  var stringValue: String? {
    let node = stripped
    guard node.kind == CXCursor_StringLiteral else { return nil }
    let spelling = Array(node.spelling.utf8)
    guard let open = spelling.firstIndex(of: UInt8(ascii: "\"")), let close = spelling.lastIndex(of: UInt8(ascii: "\"")),
      open < close
    else { return nil }
    return String(decoding: Self.unescape(spelling[(open + 1)..<close]), as: UTF8.self)
  }

  private static func unescape(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    var i = bytes.startIndex
    func hexValue(_ b: UInt8) -> UInt8? {
      switch b {
      case 48...57: return b - 48
      case 97...102: return b - 87
      case 65...70: return b - 55
      default: return nil
      }
    }
    while i < bytes.endIndex {
      let b = bytes[i]
      i += 1
      guard b == UInt8(ascii: "\\"), i < bytes.endIndex else {
        out.append(b)
        continue
      }
      let e = bytes[i]
      i += 1
      switch e {
      case UInt8(ascii: "n"): out.append(10)
      case UInt8(ascii: "t"): out.append(9)
      case UInt8(ascii: "r"): out.append(13)
      case UInt8(ascii: "a"): out.append(7)
      case UInt8(ascii: "b"): out.append(8)
      case UInt8(ascii: "f"): out.append(12)
      case UInt8(ascii: "v"): out.append(11)
      case UInt8(ascii: "x"):
        var value: UInt8 = 0
        while i < bytes.endIndex, let digit = hexValue(bytes[i]) {
          value = value &* 16 &+ digit
          i += 1
        }
        out.append(value)
      case 48...55:
        var value = e - 48
        var digits = 1
        while digits < 3, i < bytes.endIndex, bytes[i] >= 48, bytes[i] <= 55 {
          value = value &* 8 &+ (bytes[i] - 48)
          i += 1
          digits += 1
        }
        out.append(value)
      default: out.append(e)
      }
    }
    return out
  }

  /// The value of an integer constant expression (literals, sizeof, enumerators, constant macros).
  var integerValue: Int64? {
    let node = stripped
    // clang's evaluator recurses over the expression: only small, fully walked ones are evaluated.
    guard node.subtreeEnd - node.order < 2048, !node.contains(where: \.cut) else { return nil }
    if node.kind == CXCursor_StringLiteral || node.kind == CXCursor_CallExpr || node.kind == CXCursor_DeclRefExpr
      && clang_getCursorKind(clang_getCursorReferenced(node.cursor)) != CXCursor_EnumConstantDecl
    {
      return nil
    }
    guard let result = clang_Cursor_Evaluate(node.cursor) else { return nil }
    defer { clang_EvalResult_dispose(result) }
    guard clang_EvalResult_getKind(result) == CXEval_Int else { return nil }
    return clang_EvalResult_getAsLongLong(result)
  }

  /// The size in bytes of a fixed-size array this expression names (`buf`, `s.buf`, `s->buf`), nil otherwise.
  var fixedArrayBytes: Int64? {
    let node = stripped
    guard node.kind == CXCursor_DeclRefExpr || node.kind == CXCursor_MemberRefExpr else { return nil }
    let type = clang_getCursorType(node.cursor)
    guard type.kind == CXType_ConstantArray else { return nil }
    let bytes = clang_Type_getSizeOf(type)
    return bytes > 0 ? bytes : nil
  }

  var isFixedArray: Bool {
    let node = stripped
    guard node.kind == CXCursor_DeclRefExpr || node.kind == CXCursor_MemberRefExpr else { return false }
    return clang_getCursorType(node.cursor).kind == CXType_ConstantArray
  }
}

/// The analysed code's bytes and the tree built over them.
struct CSyntaxTree {
  let code: [UInt8]
  /// Top-level declarations that lie (at least partly) in the analysed code.
  let roots: [CNode]
  /// Every node in pre-order.
  let nodes: [CNode]
  /// True when the walk stopped descending somewhere because the tree was deeper than `maximumDepth`.
  let truncated: Bool

  static let maximumDepth = 256

  func text(_ node: CNode) -> String {
    guard node.start >= 0, node.end <= code.count, node.start < node.end else { return "" }
    return String(decoding: code[node.start..<node.end], as: UTF8.self)
  }

  /// The source between two sibling nodes (an operator's spelling), trimmed.
  func textBetween(_ lhs: CNode, _ rhs: CNode) -> String {
    guard lhs.end >= 0, rhs.start <= code.count, lhs.end < rhs.start else { return "" }
    return String(decoding: code[lhs.end..<rhs.start], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// A binary or compound-assignment operator's spelling (`*`, `=`, `+=`, `<`, …), "" for other nodes.
  func binaryOperator(_ node: CNode) -> String {
    guard node.kind == CXCursor_BinaryOperator || node.kind == CXCursor_CompoundAssignOperator,
      node.children.count == 2
    else { return "" }
    return textBetween(node.children[0], node.children[1])
  }

  /// A unary operator's spelling (`*`, `!`, `&`, `-`, `sizeof`, …), "" for other nodes.
  func unaryOperator(_ node: CNode) -> String {
    guard node.kind == CXCursor_UnaryOperator || node.kind == CXCursor_UnaryExpr else { return "" }
    guard let operand = node.children.first, node.start >= 0, operand.start > node.start, operand.start <= code.count
    else {
      // `x++` / `x--`, or `sizeof(type)` whose operand is not an expression child.
      let full = text(node)
      return full.hasPrefix("sizeof") ? "sizeof" : ""
    }
    return String(decoding: code[node.start..<operand.start], as: UTF8.self)
      .trimmingCharacters(in: CharacterSet(charactersIn: " \t\n\r("))
  }
}
