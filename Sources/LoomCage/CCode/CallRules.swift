import CClang

// Rules that look at one call: dangerous functions, format strings, command execution, copies into fixed-size
// arrays, allocation sizes, randomness and weak cryptography (OpenSSL and wolfSSL names).

enum CallRules {
  static func check(_ call: CNode, in analysis: CAnalysis) {
    let name = canonicalName(call.spelling)
    guard !name.isEmpty else { return }
    let args = call.arguments
    if ["strcpy", "strncpy", "strlcpy", "memcpy", "memmove"].contains(name) { SecretRules.checkCopy(call, in: analysis) }
    if let formatIndex = formatArgument[name] { checkFormat(call, name: name, args: args, formatIndex: formatIndex, analysis) }
    switch name {
    case "gets", "_getws", "_getts":
      checkGets(call, args: args, analysis)
    case "strcpy", "wcscpy", "lstrcpy", "lstrcpyA", "lstrcpyW", "_tcscpy", "_mbscpy", "stpcpy", "StrCpy", "_ftcscpy":
      checkStrcpy(call, name: name, args: args, analysis)
    case "strcat", "wcscat", "lstrcat", "lstrcatA", "lstrcatW", "_tcscat", "_mbscat", "StrCat", "_ftcscat":
      if args.count >= 2 {
        analysis.report(
          .strcat, at: call,
          "\(name)() appends without knowing how much room is left in the destination (CWE-120); use "
            + "snprintf(dst + len, sizeof dst - len, \"%s\", src) or strlcat with the destination's size")
      }
    case "sprintf", "vsprintf", "wsprintf", "wsprintfA", "wsprintfW", "_stprintf":
      checkSprintf(call, name: name, args: args, analysis)
    case "scanf", "vscanf", "wscanf": checkScanf(call, name: name, args: args, formatIndex: 0, analysis)
    case "fscanf", "sscanf", "vfscanf", "vsscanf", "fwscanf", "swscanf":
      checkScanf(call, name: name, args: args, formatIndex: 1, analysis)
    case "system", "popen", "_popen", "_wsystem", "_wpopen":
      if let command = args.first, !analysis.isConstantString(command) {
        analysis.report(
          .system, at: call,
          "\(name)() runs a shell command built at run time (`\(analysis.text(command))`): shell metacharacters in it "
            + "run arbitrary commands (CWE-78); use fork + execv with a fixed program path and an argument vector")
      }
    case "execl", "execlp", "execle", "execv", "execvp", "execve", "execvpe", "_execl", "_execv", "_execvp", "_execlp":
      checkExec(call, name: name, args: args, analysis)
    case "malloc", "realloc", "alloca", "XMALLOC", "XREALLOC", "g_malloc", "kmalloc":
      checkAllocationSize(call, name: name, args: args, analysis)
    case "memcpy", "memmove", "strncpy", "wcsncpy", "CopyMemory", "strlcpy", "_tcsncpy":
      if args.count >= 3 { checkCopy(call, name: name, destination: args[0], length: args[2], analysis) }
    case "read", "recv", "pread":
      if args.count >= 3 { checkCopy(call, name: name, destination: args[1], length: args[2], analysis) }
    case "fgets", "snprintf", "vsnprintf":
      if args.count >= 2 { checkCopy(call, name: name, destination: args[0], length: args[1], analysis) }
    case "strncat", "_tcsncat", "wcsncat", "_mbsncat":
      checkStrncat(call, name: name, args: args, analysis)
    case "MultiByteToWideChar":
      checkWideCharCount(call, args: args, analysis)
    case "SetSecurityDescriptorDacl":
      if args.count >= 3, analysis.isNullConstant(args[2]) {
        analysis.report(
          .nullDacl, at: call,
          "SetSecurityDescriptorDacl with a NULL DACL grants everyone full access, even the right to deny the owner "
            + "(CWE-732); build an explicit DACL with the rights each principal needs")
      }
    case "rand", "random", "lrand48", "drand48", "mrand48", "rand_r", "erand48", "nrand48":
      checkRandom(call, name: name, analysis)
    case "srand", "srandom", "srand48":
      if let seed = args.first,
        seed.contains(where: { $0.kind == CXCursor_CallExpr && ["time", "getpid", "clock", "gettimeofday"].contains($0.spelling) })
      {
        analysis.report(
          .predictableSeed, at: call,
          "\(name)() seeded with the time or the process id is guessable (CWE-337); draw secrets from getrandom(), "
            + "/dev/urandom or wc_RNG_GenerateBlock instead of rand()")
      }
    default:
      checkCrypto(call, name: name, args: args, analysis)
    }
  }

  /// wolfSSL's portability macros name the libc functions in capitals with an X: XMEMCPY, XSTRNCPY, XFOPEN, XFREE.
  static func canonicalName(_ name: String) -> String {
    guard name.count > 3, name.hasPrefix("X"),
      name.dropFirst().allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" })
    else { return name }
    let lowered = name.dropFirst().lowercased()
    return lowered == "malloc" || lowered == "realloc" || lowered == "free" ? name : lowered
  }

  /// Weak algorithm constants named outside calls (wolfSSL's certificate signature types).
  static func checkReference(_ node: CNode, in analysis: CAnalysis) {
    let name = node.spelling
    if ["CTC_SHAwRSA", "CTC_SHAwECDSA", "CTC_SHAwDSA"].contains(name) {
      analysis.report(
        .sha1Signature, at: node,
        "\(name) signs with SHA-1, which is broken for signatures (chosen-prefix collisions; CWE-327); use "
          + "CTC_SHA256wRSA / CTC_SHA256wECDSA or stronger")
    } else if ["CTC_MD5wRSA", "CTC_MD2wRSA"].contains(name) {
      analysis.report(
        .weakHash, at: node, "\(name) signs with MD5/MD2, which is broken (CWE-327, CWE-328); use CTC_SHA256wRSA")
    }
  }

  // MARK: Dangerous functions

  private static func checkGets(_ call: CNode, args: [CNode], _ analysis: CAnalysis) {
    guard let buffer = args.first else { return }
    var fix: (String, String)?
    if buffer.isFixedArray {
      let name = analysis.text(buffer)
      fix = ("fgets(\(name), sizeof \(name), stdin)", "read at most sizeof \(name) - 1 bytes (fgets keeps the newline)")
    }
    analysis.report(
      .gets, at: call,
      "gets() writes as many bytes as the input holds, past the end of any buffer (CWE-242, CWE-120); use "
        + "fgets(buf, sizeof buf, stdin)",
      fix: fix.map { (replacement: $0.0, description: $0.1) })
  }

  private static func checkStrcpy(_ call: CNode, name: String, args: [CNode], _ analysis: CAnalysis) {
    guard args.count >= 2 else { return }
    let destination = args[0]
    let source = args[1]
    if analysis.isConstantString(source) {
      // A constant source is safe unless the destination is an array known to be too small.
      guard let bytes = destination.fixedArrayBytes, let value = source.stringValue, Int64(value.utf8.count) + 1 > bytes
      else { return }
      analysis.report(
        .strcpy, at: call,
        "\(name)() copies a \(value.utf8.count + 1)-byte string into the \(bytes)-byte array `\(analysis.text(destination))` (CWE-120)")
      return
    }
    var fix: (replacement: String, description: String)?
    if destination.isFixedArray {
      let d = analysis.text(destination)
      fix = ("snprintf(\(d), sizeof \(d), \"%s\", \(analysis.text(source)))", "bounded copy that always terminates")
    }
    analysis.report(
      .strcpy, at: call,
      "\(name)() copies until the source's terminator, however long, past the end of the destination (CWE-120); use "
        + "snprintf(dst, sizeof dst, \"%s\", src) or strlcpy with the destination's size",
      fix: fix)
  }

  private static func checkSprintf(_ call: CNode, name: String, args: [CNode], _ analysis: CAnalysis) {
    guard args.count >= 2 else { return }
    let destination = args[0]
    let format = args[1]
    let unbounded: Bool
    if let value = format.stringValue {
      unbounded = FormatSpec.conversions(value).contains { ($0.conversion == "s" || $0.conversion == "[") && !$0.hasPrecision }
    } else {
      unbounded = !analysis.isConstantString(format) || format.stripped.kind == CXCursor_CallExpr
    }
    guard unbounded else { return }
    var fix: (replacement: String, description: String)?
    if destination.isFixedArray && (name == "sprintf" || name == "vsprintf") {
      let d = analysis.text(destination)
      let rest = args.dropFirst().map { analysis.text($0) }.joined(separator: ", ")
      let bounded = name == "sprintf" ? "snprintf" : "vsnprintf"
      fix = ("\(bounded)(\(d), sizeof \(d), \(rest))", "bounded by the destination's size")
    }
    analysis.report(
      .sprintf, at: call,
      "\(name)() formats strings of unbounded length into `\(analysis.text(destination))` (CWE-120); use "
        + "snprintf(dst, sizeof dst, …) and check its result",
      fix: fix)
  }

  private static func checkScanf(_ call: CNode, name: String, args: [CNode], formatIndex: Int, _ analysis: CAnalysis) {
    guard args.count > formatIndex, let value = args[formatIndex].stringValue else { return }
    let conversions = FormatSpec.conversions(value)
    let unbounded = conversions.filter { ($0.conversion == "s" || $0.conversion == "[") && !$0.hasWidth && !$0.suppressed }
    guard !unbounded.isEmpty else { return }
    // Fix: a single unbounded %s whose argument is a fixed array gets the array's width.
    var fix: (range: Range<Int>, replacement: String, description: String)?
    let format = args[formatIndex].stripped
    let written = analysis.text(format)
    if unbounded.count == 1, unbounded[0].conversion == "s", written.components(separatedBy: "%s").count == 2,
      let position = conversions.filter({ !$0.suppressed }).firstIndex(where: { $0.index == unbounded[0].index }),
      args.count > formatIndex + 1 + position, let bytes = args[formatIndex + 1 + position].fixedArrayBytes, bytes > 1
    {
      fix = (
        format.start..<format.end, written.replacingOccurrences(of: "%s", with: "%\(bytes - 1)s"),
        "field width = the array's size - 1"
      )
    }
    analysis.report(
      .scanfString, start: call.start, end: call.end,
      "\(name)() with %s or %[ and no field width writes as many bytes as the input holds (CWE-120); give a width "
        + "one less than the buffer (\"%63s\" for char buf[64])",
      fix: fix)
  }

  private static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "cmd.exe", "powershell"]

  /// A program chosen at run time, or a shell given run-time arguments; a fixed program's arguments are data.
  private static func checkExec(_ call: CNode, name: String, args: [CNode], _ analysis: CAnalysis) {
    guard let program = args.first else { return }
    var dynamic: CNode?
    if !analysis.isConstantString(program) {
      dynamic = program
    } else if let path = program.stringValue, let base = path.split(separator: "/").last, shells.contains(String(base)) {
      let listVariant = name.hasSuffix("l") || name.hasSuffix("lp") || name.hasSuffix("le")
      for arg in args.dropFirst() where dynamic == nil {
        if name.hasSuffix("le") && arg === args.last { continue }  // the environment vector
        if !listVariant || (!analysis.isConstantString(arg) && !analysis.isNullConstant(arg)) { dynamic = arg }
      }
    }
    guard let dynamic else { return }
    analysis.report(
      .exec, at: call,
      "\(name)() runs a program, or a shell command, chosen at run time (`\(analysis.text(dynamic))`; CWE-78); run a "
        + "fixed program path with the data as separate arguments, never `sh -c` with outside data")
  }

  private static let formatArgument: [String: Int] = [
    "printf": 0, "vprintf": 0, "wprintf": 0, "vwprintf": 0, "fprintf": 1, "vfprintf": 1, "fwprintf": 1,
    "dprintf": 1, "vdprintf": 1, "sprintf": 1, "vsprintf": 1, "snprintf": 2, "vsnprintf": 2, "swprintf": 2,
    "asprintf": 1, "vasprintf": 1, "syslog": 1, "vsyslog": 1, "err": 1, "errx": 1, "warn": 0, "warnx": 0,
    "verr": 1, "verrx": 1, "vwarn": 0, "vwarnx": 0, "printk": 0, "scanf": 0, "fscanf": 1, "sscanf": 1,
  ]

  private static func checkFormat(_ call: CNode, name: String, args: [CNode], formatIndex: Int, _ analysis: CAnalysis) {
    guard args.count > formatIndex else { return }
    let format = args[formatIndex]
    if analysis.isConstantString(format) { return }
    // A printf-like wrapper passes its own format parameter on: the wrapper's callers are checked instead.
    let inner = format.stripped
    if inner.kind == CXCursor_DeclRefExpr,
      clang_getCursorKind(clang_getCursorReferenced(inner.cursor)) == CXCursor_ParmDecl,
      let function = analysis.enclosingFunction(call),
      clang_Cursor_isVariadic(function.cursor) != 0
        || function.children.contains(where: {
          $0.kind == CXCursor_ParmDecl && clang_getTypeSpelling(clang_getCursorType($0.cursor)).consume().contains("va_list")
        })
    {
      return
    }
    var fix: (range: Range<Int>, replacement: String, description: String)?
    if formatIndex == args.count - 1 && !name.hasPrefix("v") && !name.contains("scanf") {
      fix = (format.start..<format.start, "\"%s\", ", "print the string as data, not as a format")
    }
    analysis.report(
      .formatString, start: call.start, end: call.end,
      "\(name)() takes its format from `\(analysis.text(format))`, not a literal: %n and %s in it write or read "
        + "memory (CWE-134); use a constant format such as \(name)(…\"%s\", str)",
      fix: fix)
  }

  // MARK: Sizes and copies

  private static func checkAllocationSize(_ call: CNode, name: String, args: [CNode], _ analysis: CAnalysis) {
    let sizeIndex = (name == "realloc" || name == "XREALLOC") ? 1 : 0
    guard args.count > sizeIndex else { return }
    let size = args[sizeIndex].stripped
    guard size.integerValue == nil else { return }
    var product: CNode?
    size.forEach { node in
      if product == nil && node.kind == CXCursor_BinaryOperator && analysis.tree.binaryOperator(node) == "*" {
        product = node
      }
    }
    guard let product, product.integerValue == nil else { return }
    let operands = product.children
    guard operands.count == 2, operands[0].integerValue == nil || operands[1].integerValue == nil else { return }
    if analysis.isBoundedEarlier(analysis.referencedNames(product), before: call) { return }
    if analysis.enclosingFunction(call).map({ function in
      analysis.tree.nodes[function.order..<call.order].contains {
        $0.kind == CXCursor_CallExpr && ($0.spelling.contains("mul_overflow") || $0.spelling.hasPrefix("ckd_mul"))
      }
    }) == true {
      return
    }
    var fix: (replacement: String, description: String)?
    let a = analysis.text(operands[0])
    let b = analysis.text(operands[1])
    if product === size && (name == "malloc" || name == "realloc") {
      if name == "malloc" {
        fix = ("calloc(\(a), \(b))", "calloc checks the multiplication for overflow")
      } else {
        fix = ("reallocarray(\(analysis.text(args[0])), \(a), \(b))", "reallocarray checks the multiplication")
      }
    }
    analysis.report(
      .allocationOverflow, at: call,
      "\(name)(\(analysis.text(args[sizeIndex]))) multiplies without an overflow check: a large count wraps the size "
        + "and the buffer comes out too small (CWE-190, CWE-680); use calloc(n, size) / reallocarray, or check "
        + "n > SIZE_MAX / size first",
      fix: fix)
  }

  private static func checkCopy(_ call: CNode, name: String, destination: CNode, length: CNode, _ analysis: CAnalysis) {
    guard let bytes = destination.fixedArrayBytes else { return }
    let d = analysis.text(destination)
    if let constant = length.integerValue {
      if constant > bytes {
        analysis.report(
          .unboundedCopy, at: call,
          "\(name)() writes \(constant) bytes into `\(d)`, which holds \(bytes) (CWE-787); copy at most sizeof \(d)")
      }
      return
    }
    let inner = length.stripped
    if inner.contains(where: { $0.kind == CXCursor_ConditionalOperator }) { return }
    if inner.contains(where: { $0.kind == CXCursor_UnaryExpr && analysis.text($0).hasPrefix("sizeof") }) { return }
    if inner.contains(where: { $0.kind == CXCursor_CallExpr && ["min", "MIN", "MIN_T", "min_t"].contains($0.spelling) }) {
      return
    }
    if analysis.isBoundedEarlier(analysis.referencedNames(inner), before: call) { return }
    if isLengthOfSmallArray(inner, before: call, limit: bytes, analysis) { return }
    analysis.report(
      .unboundedCopy, at: call,
      "\(name)() copies `\(analysis.text(length))` bytes into the \(bytes)-byte array `\(d)` and nothing bounds that "
        + "length by the array (CWE-120, CWE-787); check it against sizeof \(d) first or copy MIN(len, sizeof \(d))")
  }

  /// `strlen(k)` (directly, or in the variable last assigned before the copy) of an array `k` that fits the
  /// destination: `n = strlen(kGreeting); memcpy(msg, kGreeting, n);` with `const char kGreeting[] = "…"`.
  private static func isLengthOfSmallArray(_ length: CNode, before call: CNode, limit: Int64, _ analysis: CAnalysis)
    -> Bool
  {
    func fits(_ expression: CNode) -> Bool {
      var result = false
      expression.forEach { node in
        if !result, node.kind == CXCursor_CallExpr, canonicalName(node.spelling) == "strlen",
          let argument = node.arguments.first, let size = argument.fixedArrayBytes
        {
          result = size <= limit
        }
      }
      return result
    }
    if fits(length) { return true }
    guard length.kind == CXCursor_DeclRefExpr, let function = analysis.enclosingFunction(call) else { return false }
    let name = length.spelling
    for index in stride(from: call.order - 1, to: function.order, by: -1) {
      let node = analysis.tree.nodes[index]
      if node.kind == CXCursor_BinaryOperator, analysis.tree.binaryOperator(node) == "=", node.children.count == 2,
        analysis.text(node.children[0].stripped) == name
      {
        return fits(node.children[1])
      }
      if node.kind == CXCursor_VarDecl, node.spelling == name, let initializer = node.children.last {
        return fits(initializer)
      }
    }
    return false
  }

  private static func checkStrncat(_ call: CNode, name: String, args: [CNode], _ analysis: CAnalysis) {
    guard args.count >= 3, let bytes = args[0].fixedArrayBytes else { return }
    let limit = args[2]
    let d = analysis.text(args[0])
    let written = analysis.text(limit).replacingOccurrences(of: " ", with: "")
    let wholeSize = written == "sizeof(\(d))" || written == "sizeof\(d)" || limit.integerValue == bytes
    guard wholeSize else { return }
    analysis.report(
      .strncatSize, start: call.start, end: call.end,
      "\(name)()'s limit is what may be appended, not the destination's size: `\(analysis.text(limit))` overflows "
        + "`\(d)` once it holds anything (CWE-120); use sizeof \(d) - strlen(\(d)) - 1",
      fix: (limit.start..<limit.end, "sizeof(\(d)) - strlen(\(d)) - 1", "room left in the destination"))
  }

  private static func checkWideCharCount(_ call: CNode, args: [CNode], _ analysis: CAnalysis) {
    guard args.count >= 6 else { return }
    let size = args[5]
    let written = analysis.text(size)
    guard written.hasPrefix("sizeof"), !written.contains("/") else { return }
    let target = analysis.text(args[4])
    analysis.report(
      .wideCharCount, start: call.start, end: call.end,
      "MultiByteToWideChar's last argument counts wide characters, but `\(written)` is bytes: the conversion can "
        + "write twice the buffer (CWE-120); use sizeof(\(target)) / sizeof(\(target)[0])",
      fix: (size.start..<size.end, "sizeof(\(target)) / sizeof(\(target)[0])", "count in characters"))
  }

  // MARK: Randomness and cryptography

  static let secretWords: Set<String> = [
    "key", "keys", "nonce", "iv", "salt", "token", "secret", "password", "passwd", "pwd", "session", "challenge",
    "otp", "cookie", "csrf", "privkey", "priv", "passphrase",
  ]

  private static func checkRandom(_ call: CNode, name: String, _ analysis: CAnalysis) {
    var names: [String] = []
    var node: CNode? = call.parent
    while let current = node, current.kind != CXCursor_CompoundStmt {
      switch current.kind {
      case CXCursor_VarDecl: names.append(current.spelling)
      case CXCursor_BinaryOperator, CXCursor_CompoundAssignOperator:
        if let lhs = current.children.first { names.append(analysis.text(lhs)) }
      case CXCursor_CallExpr: names.append(current.spelling)
      default: break
      }
      node = current.parent
    }
    if let function = analysis.enclosingFunction(call) { names.append(function.spelling) }
    guard let hit = names.first(where: { CNames.words($0).contains(where: secretWords.contains) }) else { return }
    analysis.report(
      .weakRandom, at: call,
      "\(name)() is a predictable PRNG, here feeding `\(hit)` (CWE-338); use getrandom(), arc4random_buf or "
        + "wc_RNG_GenerateBlock / RAND_bytes for keys, nonces, IVs and tokens")
  }

  private static let weakHashWords: Set<String> = ["md5", "md4", "md2"]
  private static let weakCipherWords: Set<String> = ["des", "des3", "3des", "arc4", "rc4", "rc2", "bf", "blowfish"]
  private static let sha1Names: Set<String> = [
    "WC_HASH_TYPE_SHA", "NID_sha1", "EVP_sha1", "WC_SHA", "SHA1", "NID_sha1WithRSAEncryption", "CTC_SHAwRSA",
    "CTC_SHAwECDSA", "SHA",
  ]

  private static func checkCrypto(_ call: CNode, name: String, args: [CNode], _ analysis: CAnalysis) {
    let words = CNames.words(name)
    if words.contains(where: weakHashWords.contains) {
      analysis.report(
        .weakHash, at: call,
        "\(name)() uses MD5/MD4/MD2, which are broken (collisions in seconds; CWE-327, CWE-328); use SHA-256 "
          + "(wc_Sha256Hash, EVP_sha256) or, for passwords, a KDF such as PBKDF2 or Argon2")
      return
    }
    if words.contains(where: weakCipherWords.contains) {
      analysis.report(
        .weakCipher, at: call,
        "\(name)() uses DES/3DES/RC4/RC2/Blowfish, which are broken or have 64-bit blocks (CWE-327); use AES-GCM "
          + "(wc_AesGcmEncrypt, EVP_aes_256_gcm) or ChaCha20-Poly1305")
      return
    }
    if words.contains("ecb") {
      analysis.report(
        .ecbMode, at: call,
        "\(name)() encrypts in ECB mode: equal blocks give equal ciphertext, leaking the plaintext's structure "
          + "(CWE-327); use an authenticated mode (AES-GCM) with a fresh nonce")
      return
    }
    let lower = name.lowercased()
    if lower.contains("sign") || lower.contains("verify") {
      for arg in args {
        var hit: String?
        arg.forEach { node in
          if hit == nil && (node.kind == CXCursor_DeclRefExpr || node.kind == CXCursor_CallExpr) && sha1Names.contains(node.spelling) {
            hit = node.spelling
          }
        }
        if let hit {
          analysis.report(
            .sha1Signature, at: call,
            "\(name)() signs or verifies with SHA-1 (`\(hit)`), which is broken for signatures (CWE-327); use "
              + "SHA-256 or stronger (WC_HASH_TYPE_SHA256, EVP_sha256)")
          return
        }
      }
    }
  }
}

/// printf / scanf conversion specifications, enough to see widths and precisions.
enum FormatSpec {
  struct Conversion {
    var index: Int
    var conversion: Character
    var hasWidth: Bool
    var hasPrecision: Bool
    var suppressed: Bool
  }

  static func conversions(_ format: String) -> [Conversion] {
    var result: [Conversion] = []
    let characters = Array(format)
    var i = 0
    while i < characters.count {
      guard characters[i] == "%" else {
        i += 1
        continue
      }
      i += 1
      if i < characters.count && characters[i] == "%" {
        i += 1
        continue
      }
      var suppressed = false
      var width = false
      var precision = false
      while i < characters.count, "-+ #0'*".contains(characters[i]) {
        if characters[i] == "*" { suppressed = true }
        i += 1
      }
      while i < characters.count && characters[i].isNumber {
        width = true
        i += 1
      }
      if i < characters.count && characters[i] == "." {
        precision = true
        i += 1
        while i < characters.count && (characters[i].isNumber || characters[i] == "*") { i += 1 }
      }
      while i < characters.count, "hlLqjzt".contains(characters[i]) { i += 1 }
      guard i < characters.count else { break }
      result.append(
        Conversion(index: result.count, conversion: characters[i], hasWidth: width, hasPrecision: precision, suppressed: suppressed))
      i += 1
    }
    return result
  }
}
