import CClang

// Hard-coded credentials: a string literal or a byte-array literal stored in a variable, field or buffer whose name
// says it holds a key, password, secret, IV, nonce, salt or token (`aes_key`, `dbPassword`, `client_key_der_2048`).
// Names that describe such a value rather than hold it (`key_len`, `password_prompt`, `keyFile`) are left alone.

enum SecretRules {
  private static let secretWords: Set<String> = [
    "key", "password", "passwd", "pwd", "pass", "secret", "iv", "nonce", "token", "apikey", "salt", "psk",
    "passphrase", "credential", "credentials", "privkey",
  ]
  private static let descriptiveWords: Set<String> = [
    "len", "length", "size", "sz", "type", "id", "idx", "index", "oid", "usage", "format", "fmt", "file", "filename",
    "path", "name", "label", "prompt", "msg", "message", "hint", "count", "num", "bits", "mode", "algo", "alg", "str",
    "env", "var", "field", "column", "header", "param", "url", "dir", "policy", "max", "min", "error", "err", "status",
    "sum", "check",
  ]

  /// Whether a name holds a secret: one of its words is a secret word and none says it only describes one.
  static func isSecretName(_ name: String) -> Bool {
    let words = CNames.words(name)
    return words.contains(where: secretWords.contains) && !words.contains(where: descriptiveWords.contains)
  }

  static func checkDeclaration(_ declaration: CNode, in analysis: CAnalysis) {
    let name = declaration.spelling
    guard isSecretName(name), let initializer = declaration.children.last,
      let literal = literalDescription(initializer, analysis)
    else { return }
    analysis.report(
      .hardCodedSecret, at: declaration,
      "`\(name)` is initialised with \(literal) in the source (CWE-798): anyone with the binary or the code has it; "
        + "load it at run time from a key store, a protected file or the environment, or derive it with a KDF")
  }

  static func checkAssignment(_ assignment: CNode, in analysis: CAnalysis) {
    guard assignment.children.count == 2, analysis.tree.binaryOperator(assignment) == "=" else { return }
    let lhs = assignment.children[0].stripped
    let target = lhs.kind == CXCursor_MemberRefExpr || lhs.kind == CXCursor_DeclRefExpr ? lhs.spelling : ""
    guard isSecretName(target), let literal = literalDescription(assignment.children[1], analysis) else { return }
    analysis.report(
      .hardCodedSecret, at: assignment,
      "`\(analysis.text(lhs))` is assigned \(literal) in the source (CWE-798); load secrets at run time instead")
  }

  /// Copies of a literal into a secret-named buffer: `strcpy(password, "hunter2")`, `memcpy(key, "…", 16)`.
  static func checkCopy(_ call: CNode, in analysis: CAnalysis) {
    let args = call.arguments
    guard args.count >= 2 else { return }
    let destination = args[0].stripped
    guard destination.kind == CXCursor_DeclRefExpr || destination.kind == CXCursor_MemberRefExpr,
      isSecretName(destination.spelling), let literal = literalDescription(args[1], analysis)
    else { return }
    analysis.report(
      .hardCodedSecret, at: call,
      "\(call.spelling)() fills `\(destination.spelling)` with \(literal) from the source (CWE-798); load secrets at "
        + "run time instead")
  }

  /// "a string literal" / "a 16-byte array literal" when the expression is one worth reporting.
  private static func literalDescription(_ node: CNode, _ analysis: CAnalysis) -> String? {
    let inner = node.stripped
    if inner.kind == CXCursor_StringLiteral {
      guard let value = inner.stringValue, value.utf8.count >= 4 else { return nil }
      return "a string literal"
    }
    if inner.kind == CXCursor_InitListExpr {
      let elements = inner.children
      guard elements.count >= 8,
        elements.allSatisfy({ $0.stripped.kind == CXCursor_IntegerLiteral || $0.stripped.kind == CXCursor_CharacterLiteral })
      else { return nil }
      return "a \(elements.count)-byte array literal"
    }
    return nil
  }
}
