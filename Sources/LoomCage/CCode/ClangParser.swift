import CClang
import CClangLoader
import Foundation

// One libclang parse of a code block held in memory (an unsaved file; no input file is read from disk: `#include`s
// are blanked first, so `#include "/dev/stdin"` cannot block and no local header is read). Snippets rarely come with
// their headers, so the code is parsed after CPrelude (libc types and prototypes; precompiled once per process, see
// PrecompiledPrelude; units are re-parsed rather than made afresh, see TranslationUnitPool) with KeepGoing |
// Incomplete, and — only when the first parse reports them — a second parse adds what the diagnostics show is missing: typedefs for
// unknown type names, empty macros for attribute-like names (`WOLFSSL_API int f(void);`), variables for undeclared
// identifiers, and a wrapping function when bare statements stand at file scope. Grammar errors that remain after
// that ("expected ';'", unbalanced braces, unterminated literals) are reported as syntax errors.

struct CParseDiagnostic: Equatable {
  var message: String
  /// Byte offset in the block, nil when it lies outside it.
  var offset: Int?
}

/// A parsed block; owns the translation unit, which the tree's cursors need, until it is released.
final class CParsedUnit {
  let tree: CSyntaxTree
  let syntaxErrors: [CParseDiagnostic]
  /// Wall time of the libclang parse(s), milliseconds.
  let parseMilliseconds: Double
  let parses: Int
  private let entry: TranslationUnitPool.Entry

  fileprivate init(
    tree: CSyntaxTree, syntaxErrors: [CParseDiagnostic], parseMilliseconds: Double, parses: Int,
    entry: TranslationUnitPool.Entry
  ) {
    self.tree = tree
    self.syntaxErrors = syntaxErrors
    self.parseMilliseconds = parseMilliseconds
    self.parses = parses
    self.entry = entry
  }

  /// The tree's cursors die with the unit's next parse: it goes back to the pool only now.
  deinit { TranslationUnitPool.shared.give(entry) }
}

enum ClangParser {
  static func parse(_ block: CCodeBlock) throws -> CParsedUnit {
    let code = blankIncludes(block.code)
    let clock = ContinuousClock()
    let started = clock.now
    var current = try parseOnce(code, language: block.language, extraDeclarations: "", wrap: false)
    let wrap = current.errorCount > 0 && !current.definesFunction
      && !looksLikeFunctionDefinition(code)
    var declared = Set<String>()
    var declarations = ""
    var parses = 1
    // Each further parse declares what the last one found missing; code that an error hid can reveal more names,
    // hence up to three parses.
    while parses < 3 {
      let missing = current.undeclared.filter { !declared.contains($0.name) }
      let extra = inferDeclarations(missing, code: code, language: block.language)
      if extra.isEmpty && !(parses == 1 && wrap) { break }
      missing.forEach { declared.insert($0.name) }
      declarations += extra
      // What the next parse needs is copied out; the unit can be re-parsed right away.
      current.dispose()
      current = try parseOnce(code, language: block.language, extraDeclarations: declarations, wrap: wrap)
      parses += 1
    }
    return current.finish(parseMilliseconds: milliseconds(clock.now - started), parses: parses)
  }

  /// Nesting that would overflow clang's parser stack (it recurses per nested statement and per `else if`, and
  /// libclang cannot recover from a stack overflow): a reason when the code has it, nil otherwise. Brackets need
  /// no check: clang stops at 256 levels itself.
  static func pathologicalNesting(_ code: [UInt8]) -> String? {
    var operatorRun = 0
    var controlRun = 0
    var elseCounts: [Int] = [0]
    var i = 0
    while i < code.count {
      let b = code[i]
      switch b {
      case UInt8(ascii: "/") where i + 1 < code.count && code[i + 1] == UInt8(ascii: "/"):
        while i < code.count && code[i] != 10 { i += 1 }
        continue
      case UInt8(ascii: "/") where i + 1 < code.count && code[i + 1] == UInt8(ascii: "*"):
        i += 2
        while i + 1 < code.count && !(code[i] == UInt8(ascii: "*") && code[i + 1] == UInt8(ascii: "/")) { i += 1 }
        i += 2
        continue
      case UInt8(ascii: "\""), UInt8(ascii: "'"):
        i += 1
        while i < code.count && code[i] != b && code[i] != 10 {
          if code[i] == UInt8(ascii: "\\") { i += 1 }
          i += 1
        }
      case UInt8(ascii: ";"):
        operatorRun = 0
        controlRun = 0
      case UInt8(ascii: "{"):
        operatorRun = 0
        controlRun = 0
        elseCounts.append(0)
      case UInt8(ascii: "}"):
        operatorRun = 0
        controlRun = 0
        if elseCounts.count > 1 { elseCounts.removeLast() }
      case UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "%"), UInt8(ascii: "&"),
        UInt8(ascii: "|"), UInt8(ascii: "^"), UInt8(ascii: "<"), UInt8(ascii: "?"):
        operatorRun += 1
      case UInt8(ascii: "-") where !(i + 1 < code.count && code[i + 1] == UInt8(ascii: ">")):
        operatorRun += 1
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
        var j = i
        while j < code.count && isWordByte(code[j]) { j += 1 }
        if j - i <= 6 {
          switch String(decoding: code[i..<j], as: UTF8.self) {
          case "if", "for", "while", "do", "switch": controlRun += 1
          case "else":
            controlRun += 1
            elseCounts[elseCounts.count - 1] += 1
            if elseCounts[elseCounts.count - 1] > 2000 { return "more than 2000 `else` branches in one block" }
          default: break
          }
        }
        i = j
        if controlRun > 1000 { return "more than 1000 nested control statements without braces" }
        continue
      default: break
      }
      if operatorRun > 10000 { return "an expression with more than 10000 operators" }
      i += 1
    }
    return nil
  }

  /// `name(…) {` with a name that is not a keyword: the code defines functions, so bare statements are not
  /// wrapped into one even when clang did not see the definition (an unknown macro before it, say).
  static func looksLikeFunctionDefinition(_ code: [UInt8]) -> Bool {
    let tokens = nextTokens(code, after: 0, count: Int.max)
    let keywords: Set<String> = ["if", "while", "for", "switch", "catch", "sizeof", "return"]
    for i in tokens.indices.dropFirst() where tokens[i] == "{" && tokens[i - 1] == ")" {
      var depth = 0
      var j = i - 1
      while j >= 0 {
        if tokens[j] == ")" { depth += 1 } else if tokens[j] == "(" {
          depth -= 1
          if depth == 0 { break }
        }
        j -= 1
      }
      if j > 0 && isIdentifier(tokens[j - 1]) && !keywords.contains(tokens[j - 1]) { return true }
    }
    return false
  }

  private static func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1e3 + Double(attoseconds) * 1e-15
  }

  /// Overwrites `#include` / `#import` / `#include_next` directives with spaces (offsets stay put).
  static func blankIncludes(_ code: [UInt8]) -> [UInt8] {
    var out = code
    var i = 0
    var atLineStart = true
    while i < out.count {
      let byte = out[i]
      if byte == UInt8(ascii: "\n") {
        atLineStart = true
        i += 1
        continue
      }
      if atLineStart && byte == UInt8(ascii: "#") {
        var j = i + 1
        while j < out.count && (out[j] == UInt8(ascii: " ") || out[j] == UInt8(ascii: "\t")) { j += 1 }
        var k = j
        while k < out.count && ((out[k] >= UInt8(ascii: "a") && out[k] <= UInt8(ascii: "z")) || out[k] == 95) { k += 1 }
        let word = String(decoding: out[j..<k], as: UTF8.self)
        if word == "include" || word == "import" || word == "include_next" {
          var end = k
          while end < out.count && out[end] != UInt8(ascii: "\n") { end += 1 }
          for p in i..<end { out[p] = UInt8(ascii: " ") }
          i = end
          continue
        }
      }
      if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\r") { atLineStart = false }
      i += 1
    }
    return out
  }

  /// One parse. The Swift tree is built only for the parse that is kept (`finish`): earlier ones only tell which
  /// names were missing and whether a function is defined at file scope.
  private struct Attempt {
    let code: [UInt8]
    let codeStart: Int
    let mainFile: CXFile?
    /// A function definition (a body) stands at file scope in the code.
    let definesFunction: Bool
    let syntaxErrors: [CParseDiagnostic]
    let errorCount: Int
    let entry: TranslationUnitPool.Entry
    /// Names clang reported as undeclared or unknown types, with the offset of the first report.
    let undeclared: [(name: String, offset: Int, typeName: Bool)]
    var unit: CXTranslationUnit { entry.unit }

    /// Hands the unit back for reuse (its cursors are not used after this).
    func dispose() { TranslationUnitPool.shared.give(entry) }

    func finish(parseMilliseconds: Double, parses: Int) -> CParsedUnit {
      let builder = TreeBuilder(codeStart: codeStart, codeCount: code.count, mainFile: mainFile)
      builder.build(clang_getTranslationUnitCursor(unit))
      let tree = CSyntaxTree(code: code, roots: builder.roots, nodes: builder.nodes, truncated: builder.truncated)
      return CParsedUnit(
        tree: tree, syntaxErrors: syntaxErrors, parseMilliseconds: parseMilliseconds, parses: parses, entry: entry)
    }
  }

  private static let wrapperOpen = "void __loom_snippet(void) {\n"

  /// The compiler arguments of every parse (and of the precompiled prelude, which must match them).
  static func arguments(_ language: CLanguage) -> [String] {
    language == .cplusplus
      ? ["-x", "c++", "-std=c++17", "-nostdinc", "-nostdinc++", "-w", "-fno-spell-checking", "-ferror-limit=0"]
      : ["-x", "c", "-std=c11", "-nostdinc", "-w", "-fno-spell-checking", "-ferror-limit=0"]
  }

  private static func parseOnce(_ code: [UInt8], language: CLanguage, extraDeclarations: String, wrap: Bool) throws
    -> Attempt
  {
    // The prelude comes from its precompiled header when there is one, else as text before the code.
    let pch = PrecompiledPrelude.forLanguage(language)
    var buffer = pch == nil ? Array(CPrelude.text(cplusplus: language == .cplusplus).utf8) : []
    buffer += Array(extraDeclarations.utf8)
    if wrap { buffer += Array(wrapperOpen.utf8) }
    let codeStart = buffer.count
    buffer += code
    buffer += Array((wrap ? "\n}\n" : "\n").utf8)
    let fileName = language == .cplusplus ? "loom-input.cpp" : "loom-input.c"
    let arguments = Self.arguments(language) + (pch.map { ["-include-pch", $0.path] } ?? [])
    let entry = try parse(buffer, fileName: fileName, language: language, pch: pch?.path, arguments: arguments)
    let unit = entry.unit
    let mainFile = clang_getFile(unit, fileName)
    let scan = TreeBuilder(codeStart: codeStart, codeCount: code.count, mainFile: mainFile, topLevelOnly: true)
    scan.build(clang_getTranslationUnitCursor(unit))

    var syntaxErrors: [CParseDiagnostic] = []
    var undeclared: [(name: String, offset: Int, typeName: Bool)] = []
    var seen = Set<String>()
    var errorCount = 0
    for i in 0..<clang_getNumDiagnostics(unit) {
      guard let diagnostic = clang_getDiagnostic(unit, i) else { continue }
      defer { clang_disposeDiagnostic(diagnostic) }
      let severity = clang_getDiagnosticSeverity(diagnostic)
      guard severity == CXDiagnostic_Error || severity == CXDiagnostic_Fatal else { continue }
      errorCount += 1
      let message = clang_getDiagnosticSpelling(diagnostic).consume()
      let category = clang_getDiagnosticCategoryText(diagnostic).consume()
      var offset: UInt32 = 0
      var file: CXFile?
      clang_getExpansionLocation(clang_getDiagnosticLocation(diagnostic), &file, nil, nil, &offset)
      let local = Int(offset) - codeStart
      // Offsets count in the file they lie in; only the parsed buffer's are the code's (the prelude's PCH is another).
      let inCode = local >= 0 && local <= code.count && (file == nil || clang_File_isEqual(file, mainFile) != 0)
      if message.hasPrefix("use of undeclared identifier '") || message.hasPrefix("unknown type name '") {
        if let name = message.split(separator: "'").dropFirst().first.map(String.init), inCode,
          seen.insert(name).inserted
        {
          undeclared.append((name, local, message.hasPrefix("unknown type name")))
        }
        continue
      }
      let lexical = message.contains("missing terminating") || message.hasPrefix("unterminated")
      if category == "Parse Issue" || lexical {
        syntaxErrors.append(CParseDiagnostic(message: message, offset: inCode ? local : nil))
      }
    }
    return Attempt(
      code: code, codeStart: codeStart, mainFile: mainFile, definesFunction: scan.definesFunction,
      syntaxErrors: syntaxErrors, errorCount: errorCount, entry: entry, undeclared: undeclared)
  }

  /// Parses `buffer` as `fileName`: a pooled unit of the same invocation is re-parsed with it, else a fresh unit is
  /// made. A failed reparse leaves the unit unusable: it is disposed and the parse is done afresh.
  private static func parse(_ buffer: [UInt8], fileName: String, language: CLanguage, pch: String?, arguments: [String])
    throws -> TranslationUnitPool.Entry
  {
    try ClangLibrary.load()
    let pool = TranslationUnitPool.shared
    return try fileName.withCString { name in
      try buffer.withUnsafeBufferPointer { bytes in
        try bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) { contents in
          var unsaved = CXUnsavedFile(Filename: name, Contents: contents, Length: UInt(bytes.count))
          if let reused = pool.take(language: language, pch: pch) {
            if clang_reparseTranslationUnit(reused.unit, 1, &unsaved, clang_defaultReparseOptions(reused.unit)) == 0 {
              pool.countReparse()
              return reused
            }
            reused.dispose()
          }
          guard let index = clang_createIndex(0, 0) else { throw CageError("libclang could not create an index") }
          var unit: CXTranslationUnit?
          let options = CXTranslationUnit_KeepGoing.rawValue | CXTranslationUnit_Incomplete.rawValue
          let status = withCStrings(arguments) { argv, count in
            clang_parseTranslationUnit2(index, name, argv, count, &unsaved, 1, options, &unit)
          }
          guard status == CXError_Success, let unit else {
            clang_disposeIndex(index)
            throw CageError(
              "libclang could not parse the code (CXErrorCode \(status.rawValue)); the input is rejected (fail closed)")
          }
          return TranslationUnitPool.Entry(index: index, unit: unit, language: language, pch: pch)
        }
      }
    }
  }

  // MARK: Inferring what a snippet's missing headers would have declared

  private static let typeWords: Set<String> = [
    "int", "char", "void", "unsigned", "signed", "long", "short", "float", "double", "const", "volatile", "static",
    "extern", "struct", "union", "enum", "inline", "_Bool", "bool", "register", "restrict", "__inline",
  ]

  static func inferDeclarations(
    _ names: [(name: String, offset: Int, typeName: Bool)], code: [UInt8], language: CLanguage
  ) -> String {
    guard !names.isEmpty else { return "" }
    var declarations = ""
    for (name, offset, typeName) in names {
      let next = nextTokens(code, after: offset + name.utf8.count, count: 4)
      let t1 = next.first ?? ""
      let t2 = next.count > 1 ? next[1] : ""
      let t3 = next.count > 2 ? next[2] : ""
      // `X *p =`, `X *p;`, `X *p[`, a cast `(X *)`, or `X p`: X names a type. `n * m` in an expression does not.
      let pointerDeclaration = t1 == "*" && (t2 == ")" || (isIdentifier(t2) && !typeWords.contains(t2) && t2 != "sizeof"
        && ["=", ";", "["].contains(t3)))
      if typeWords.contains(t1) || (isIdentifier(t1) && t1 != "sizeof" && (isIdentifier(t2) || t2 == "*")) {
        declarations += "#define \(name)\n"
      } else if typeName || pointerDeclaration || (isIdentifier(t1) && t1 != "sizeof") {
        // Complete (sizeof works), opaque (member accesses fail, as they would have to anyway).
        declarations += "typedef struct { long loom_unknown[4]; } \(name);\n"
      } else if t1 == "(" && language == .cplusplus {
        declarations += "long \(name)(...);\n"
      } else if t1 == "[" || isIndexed(name, in: code) {
        declarations += "extern char *\(name);\n"
      } else if t1 == "->" || t1 == "." {
        continue
      } else {
        declarations += "extern long \(name);\n"
      }
    }
    return declarations
  }

  /// Whether `name[` occurs anywhere in the code (the name is then a pointer or array, not a number).
  private static func isIndexed(_ name: String, in code: [UInt8]) -> Bool {
    let pattern = Array(name.utf8)
    guard !pattern.isEmpty, code.count > pattern.count else { return false }
    var i = 0
    while i + pattern.count < code.count {
      if code[i] == pattern[0] && code[i..<(i + pattern.count)].elementsEqual(pattern)
        && (i == 0 || !isWordByte(code[i - 1]))
      {
        var j = i + pattern.count
        while j < code.count && (code[j] == 32 || code[j] == 9) { j += 1 }
        if j < code.count && code[j] == UInt8(ascii: "[") { return true }
      }
      i += 1
    }
    return false
  }

  private static func isWordByte(_ b: UInt8) -> Bool {
    (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
  }

  private static func isIdentifier(_ token: String) -> Bool {
    guard let first = token.utf8.first else { return false }
    return (first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")) || (first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z"))
      || first == 95
  }

  /// The next few tokens after `offset` (identifiers, numbers, `->`, single punctuators), skipping comments.
  static func nextTokens(_ code: [UInt8], after offset: Int, count: Int) -> [String] {
    var tokens: [String] = []
    var i = max(0, offset)
    func isWord(_ b: UInt8) -> Bool {
      (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
    }
    while i < code.count && tokens.count < count {
      let b = code[i]
      if b == 32 || b == 9 || b == 10 || b == 13 {
        i += 1
      } else if b == UInt8(ascii: "/") && i + 1 < code.count && code[i + 1] == UInt8(ascii: "*") {
        i += 2
        while i + 1 < code.count && !(code[i] == UInt8(ascii: "*") && code[i + 1] == UInt8(ascii: "/")) { i += 1 }
        i += 2
      } else if b == UInt8(ascii: "/") && i + 1 < code.count && code[i + 1] == UInt8(ascii: "/") {
        while i < code.count && code[i] != 10 { i += 1 }
      } else if isWord(b) {
        var j = i
        while j < code.count && isWord(code[j]) { j += 1 }
        tokens.append(String(decoding: code[i..<j], as: UTF8.self))
        i = j
      } else if b == UInt8(ascii: "-") && i + 1 < code.count && code[i + 1] == UInt8(ascii: ">") {
        tokens.append("->")
        i += 2
      } else {
        tokens.append(String(UnicodeScalar(b)))
        i += 1
      }
    }
    return tokens
  }
}

/// Builds the Swift tree in one libclang walk, keeping only what lies in the analysed code.
private final class TreeBuilder {
  let codeStart: Int
  let codeCount: Int
  var roots: [CNode] = []
  var nodes: [CNode] = []
  var stack: [CNode] = []
  var truncated = false

  /// The parsed buffer: top-level declarations elsewhere (the precompiled prelude) are skipped.
  let mainFile: CXFile?

  /// Only file-scope declarations are looked at, for `definesFunction`; no nodes are made.
  let topLevelOnly: Bool
  /// A file-scope function (or C++ method) with a body: a compound statement among its children.
  var definesFunction = false

  init(codeStart: Int, codeCount: Int, mainFile: CXFile?, topLevelOnly: Bool = false) {
    self.codeStart = codeStart
    self.codeCount = codeCount
    self.mainFile = mainFile
    self.topLevelOnly = topLevelOnly
  }

  func build(_ root: CXCursor) {
    let data = Unmanaged.passUnretained(self).toOpaque()
    clang_visitChildren(root, treeVisitor, data)
  }

  func visit(_ cursor: CXCursor) -> CXChildVisitResult {
    let extent = clang_getCursorExtent(cursor)
    var startOffset: UInt32 = 0
    var endOffset: UInt32 = 0
    var file: CXFile?
    if stack.isEmpty {
      clang_getExpansionLocation(clang_getRangeStart(extent), &file, nil, nil, &startOffset)
    } else {
      clang_getExpansionLocation(clang_getRangeStart(extent), nil, nil, nil, &startOffset)
    }
    clang_getExpansionLocation(clang_getRangeEnd(extent), nil, nil, nil, &endOffset)
    let end = Int(endOffset) - codeStart
    // Declarations of the prelude (its PCH, or text before the code) and of inferred names lie outside the code.
    if stack.isEmpty && (end <= 0 || (file != nil && mainFile != nil && clang_File_isEqual(file, mainFile) == 0)) {
      return CXChildVisit_Continue
    }
    if topLevelOnly {
      let kind = clang_getCursorKind(cursor)
      if !definesFunction && (kind == CXCursor_FunctionDecl || kind == CXCursor_CXXMethod) {
        var body = false
        withUnsafeMutablePointer(to: &body) { flag in
          _ = clang_visitChildren(cursor, bodyVisitor, UnsafeMutableRawPointer(flag))
        }
        definesFunction = body
      }
      return CXChildVisit_Continue
    }
    if stack.count >= CSyntaxTree.maximumDepth {
      truncated = true
      stack.last?.cut = true
      return CXChildVisit_Continue
    }
    let start = min(max(Int(startOffset) - codeStart, 0), codeCount)
    let node = CNode(
      kind: clang_getCursorKind(cursor), cursor: cursor, start: start, end: min(max(end, start), codeCount),
      order: nodes.count, parent: stack.last)
    nodes.append(node)
    if let parent = stack.last { parent.children.append(node) } else { roots.append(node) }
    stack.append(node)
    clang_visitChildren(cursor, treeVisitor, Unmanaged.passUnretained(self).toOpaque())
    stack.removeLast()
    node.subtreeEnd = nodes.count
    return CXChildVisit_Continue
  }
}

/// Sets the Bool behind `data` when a child is a compound statement (a function's body).
private let bodyVisitor: CXCursorVisitor = { cursor, _, data in
  guard clang_getCursorKind(cursor) == CXCursor_CompoundStmt else { return CXChildVisit_Continue }
  data!.assumingMemoryBound(to: Bool.self).pointee = true
  return CXChildVisit_Break
}

private let treeVisitor: CXCursorVisitor = { cursor, _, data in
  Unmanaged<TreeBuilder>.fromOpaque(data!).takeUnretainedValue().visit(cursor)
}

extension CXString {
  /// The string's text; disposes the CXString.
  func consume() -> String {
    defer { clang_disposeString(self) }
    guard let text = clang_getCString(self) else { return "" }
    return String(cString: text)
  }
}
