import CClang

// Rules that follow a pointer or a path through one function body in source order ("straight-line" code: a free
// inside a branch that ends the branch does not count against code after the branch).

enum FlowRules {
  static let allocators: Set<String> = [
    "malloc", "calloc", "realloc", "strdup", "strndup", "aligned_alloc", "XMALLOC", "XREALLOC", "reallocarray",
  ]
  static let deallocators: Set<String> = ["free", "XFREE", "cfree", "g_free"]

  static func check(function: CNode, body: CNode, in analysis: CAnalysis) {
    let nodes = analysis.tree.nodes[(body.order)..<body.subtreeEnd]
    for node in nodes where node.kind == CXCursor_CallExpr {
      let name = CallRules.canonicalName(node.spelling)
      if allocators.contains(name) {
        checkAllocationResult(node, name: name, function: function, analysis)
      } else if deallocators.contains(name) {
        checkAfterFree(node, name: name, body: body, analysis)
      } else if ["access", "stat", "lstat", "faccessat", "euidaccess", "eaccess"].contains(name) {
        checkTimeOfCheck(node, name: name, body: body, analysis)
      }
    }
  }

  // MARK: Unchecked allocation results

  private static func checkAllocationResult(_ call: CNode, name: String, function: CNode, _ analysis: CAnalysis) {
    guard let parent = call.semanticParent else { return }
    var variable: String?
    switch parent.kind {
    case CXCursor_VarDecl:
      variable = parent.spelling
    case CXCursor_BinaryOperator where analysis.tree.binaryOperator(parent) == "=":
      if let lhs = parent.children.first?.stripped, lhs.kind == CXCursor_DeclRefExpr || lhs.kind == CXCursor_MemberRefExpr {
        variable = analysis.text(lhs)
      }
    case CXCursor_CallExpr:
      if !deallocators.contains(parent.spelling) {
        analysis.report(
          .uncheckedAllocation, at: call,
          "\(name)()'s result goes straight into \(parent.spelling)() without a NULL check (CWE-690); store it and "
            + "check it first")
      }
      return
    default:
      return
    }
    guard let variable, !variable.isEmpty else { return }
    let statementEnd = statement(containing: call).subtreeEnd
    let nodes = analysis.tree.nodes
    var index = statementEnd
    while index < function.subtreeEnd {
      let node = nodes[index]
      index += 1
      guard isMention(node, of: variable, analysis) else { continue }
      // The first mention decides: a dereference is the finding; a test, a return or a copy ends the search.
      guard let use = parentUse(of: node, analysis) else { return }
      analysis.report(
        .uncheckedAllocation, at: call,
        "\(name)() can return NULL and `\(variable)` is \(use) (line \(analysis.location(node.start, node.end).line)) "
          + "before any NULL check (CWE-690, CWE-252); test `if (\(variable) == NULL)` and handle the failure")
      return
    }
  }

  private static func isMention(_ node: CNode, of variable: String, _ analysis: CAnalysis) -> Bool {
    switch node.kind {
    case CXCursor_DeclRefExpr: return node.spelling == variable
    case CXCursor_MemberRefExpr: return analysis.text(node) == variable
    default: return false
    }
  }

  /// How a mention dereferences the pointer, nil when it does not.
  private static func parentUse(of mention: CNode, _ analysis: CAnalysis) -> String? {
    var child = mention
    var node = mention.parent
    while let current = node {
      switch current.kind {
      case CXCursor_UnexposedExpr, CXCursor_ParenExpr, CXCursor_CStyleCastExpr:
        child = current
        node = current.parent
        continue
      case CXCursor_MemberRefExpr: return "dereferenced (`\(analysis.text(current))`)"
      case CXCursor_ArraySubscriptExpr:
        return current.children.first === child ? "indexed (`\(analysis.text(current))`)" : nil
      case CXCursor_UnaryOperator:
        return analysis.tree.unaryOperator(current) == "*" ? "dereferenced (`\(analysis.text(current))`)" : nil
      case CXCursor_CallExpr:
        let name = current.spelling
        if name.hasPrefix("assert") || name.hasPrefix("ASSERT") || deallocators.contains(name) { return nil }
        return "passed to \(name)()"
      default:
        return nil
      }
    }
    return nil
  }

  /// The statement (child of a compound statement) a node is part of.
  private static func statement(containing node: CNode) -> CNode {
    var current = node
    while let parent = current.parent, parent.kind != CXCursor_CompoundStmt { current = parent }
    return current
  }

  // MARK: Use after free, double free

  private static func checkAfterFree(_ call: CNode, name: String, body: CNode, _ analysis: CAnalysis) {
    guard let pointer = call.arguments.first?.stripped,
      pointer.kind == CXCursor_DeclRefExpr || pointer.kind == CXCursor_MemberRefExpr
    else { return }
    let key = analysis.text(pointer)
    guard !key.isEmpty, let block = call.ancestor(where: { $0.kind == CXCursor_CompoundStmt }) else { return }
    let freeStatement = statement(containing: call)
    let nodes = analysis.tree.nodes
    var index = freeStatement.subtreeEnd
    while index < block.subtreeEnd {
      let node = nodes[index]
      // The rest of the block is unreachable after a return/goto/break/continue that follows the free directly.
      if node.parent === block
        && [CXCursor_ReturnStmt, CXCursor_GotoStmt, CXCursor_BreakStmt, CXCursor_ContinueStmt].contains(node.kind)
      {
        return
      }
      if node.kind == CXCursor_BinaryOperator, analysis.tree.binaryOperator(node) == "=",
        let lhs = node.children.first, analysis.text(lhs.stripped) == key
      {
        return
      }
      if node.kind == CXCursor_CallExpr, deallocators.contains(CallRules.canonicalName(node.spelling)),
        let argument = node.arguments.first, analysis.text(argument.stripped) == key
      {
        analysis.report(
          .doubleFree, at: node,
          "`\(key)` is freed again here after \(name)() on line \(analysis.location(call.start, call.end).line) "
            + "(CWE-415): the allocator's state is corrupted; set the pointer to NULL after freeing it",
          fix: nil)
        return
      }
      if (node.kind == CXCursor_DeclRefExpr || node.kind == CXCursor_MemberRefExpr) && analysis.text(node) == key
        && !(node.ancestor(where: { $0.kind == CXCursor_UnaryExpr })
          .map { analysis.text($0).hasPrefix("sizeof") } ?? false)
      {
        analysis.report(
          .useAfterFree, at: node,
          "`\(key)` is used after \(name)() on line \(analysis.location(call.start, call.end).line) (CWE-416): the "
            + "memory may already hold other data; use it before freeing, or set the pointer to NULL and check it")
        return
      }
      index += 1
    }
  }

  // MARK: Time of check, time of use

  private static let opens: [String: Int] = [
    "open": 0, "fopen": 0, "freopen": 0, "creat": 0, "openat": 1, "chmod": 0, "chown": 0, "lchown": 0,
    "truncate": 0, "unlink": 0, "remove": 0, "rename": 0, "execv": 0, "execve": 0, "opendir": 0, "link": 0,
    "symlink": 1,
  ]

  private static func checkTimeOfCheck(_ call: CNode, name: String, body: CNode, _ analysis: CAnalysis) {
    let pathIndex = name == "faccessat" ? 1 : 0
    let args = call.arguments
    guard args.count > pathIndex else { return }
    let path = analysis.text(args[pathIndex].stripped)
    guard !path.isEmpty else { return }
    let nodes = analysis.tree.nodes
    for index in call.subtreeEnd..<body.subtreeEnd {
      let node = nodes[index]
      guard node.kind == CXCursor_CallExpr, let position = opens[CallRules.canonicalName(node.spelling)] else { continue }
      let useArgs = node.arguments
      guard useArgs.count > position, analysis.text(useArgs[position].stripped) == path else { continue }
      analysis.report(
        .toctou, at: call,
        "\(name)(\(path)) checks the file, then \(node.spelling)() on line "
          + "\(analysis.location(node.start, node.end).line) uses it: the file can be swapped (a symlink) in between "
          + "(CWE-367); open it once (O_NOFOLLOW) and check the open descriptor with fstat()")
      return
    }
  }
}
