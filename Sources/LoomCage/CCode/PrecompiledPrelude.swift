import CClang
import Foundation

// CPrelude parsed once per process and language and saved as a clang precompiled header, which every parse then loads
// (`-include-pch`) instead of parsing the prelude's text again: the prelude was about a quarter of each parse's CPU on
// wolfSSL's headers (bench/results/session14-cage.txt), and a block is parsed up to three times. The header and the
// PCH live in a private temporary directory removed at exit. When the PCH cannot be made (no writable temporary
// directory, libclang refusing), parses put the prelude's text before the code as before: same declarations, same
// findings, only slower.

final class PrecompiledPrelude: @unchecked Sendable {
  /// The precompiled header's path, for `-include-pch`.
  let path: String

  private init(path: String) { self.path = path }

  /// Whether parses use the PCH; `LOOM_CAGE_PRELUDE_PCH=0` turns it off (to compare, or if a libclang misbehaves).
  static let enabled = ProcessInfo.processInfo.environment["LOOM_CAGE_PRELUDE_PCH"] != "0"

  static let c: PrecompiledPrelude? = enabled ? make(cplusplus: false) : nil
  static let cplusplus: PrecompiledPrelude? = enabled ? make(cplusplus: true) : nil

  /// Tests set this to parse with the prelude's text, to compare the two ways.
  nonisolated(unsafe) static var bypassed = false

  static func forLanguage(_ language: CLanguage) -> PrecompiledPrelude? {
    bypassed ? nil : language == .cplusplus ? cplusplus : c
  }

  private static let directory: String? = {
    let path = NSTemporaryDirectory() + "loom-cage-prelude-\(getpid())-\(UUID().uuidString)"
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
        attributes: [.posixPermissions: 0o700])
    } catch { return nil }
    removeAtExit = path
    atexit { if let path = PrecompiledPrelude.removeAtExit { try? FileManager.default.removeItem(atPath: path) } }
    return path
  }()

  nonisolated(unsafe) private static var removeAtExit: String?

  private static func make(cplusplus: Bool) -> PrecompiledPrelude? {
    guard let directory else { return nil }
    let name = cplusplus ? "prelude-cpp" : "prelude-c"
    let header = "\(directory)/\(name).h"
    let pch = "\(directory)/\(name).pch"
    do {
      try CPrelude.text(cplusplus: cplusplus).write(toFile: header, atomically: true, encoding: .utf8)
    } catch { return nil }
    guard (try? ClangLibrary.load()) != nil, let index = clang_createIndex(0, 0) else { return nil }
    defer { clang_disposeIndex(index) }
    let arguments = ClangParser.arguments(cplusplus ? .cplusplus : .c) + ["-x", cplusplus ? "c++-header" : "c-header"]
    var unit: CXTranslationUnit?
    let options = CXTranslationUnit_Incomplete.rawValue | CXTranslationUnit_ForSerialization.rawValue
    let status = withCStrings(arguments) { argv, count in
      clang_parseTranslationUnit2(index, header, argv, count, nil, 0, options, &unit)
    }
    guard status == CXError_Success, let unit else { return nil }
    defer { clang_disposeTranslationUnit(unit) }
    // The prelude must compile cleanly, or every parse would inherit its errors.
    for i in 0..<clang_getNumDiagnostics(unit) {
      guard let diagnostic = clang_getDiagnostic(unit, i) else { continue }
      defer { clang_disposeDiagnostic(diagnostic) }
      if clang_getDiagnosticSeverity(diagnostic).rawValue >= CXDiagnostic_Error.rawValue { return nil }
    }
    let temporary = pch + ".partial"
    guard clang_saveTranslationUnit(unit, temporary, 0) == 0, rename(temporary, pch) == 0 else { return nil }
    return PrecompiledPrelude(path: pch)
  }
}

/// Runs `body` with `strings` as a C `argv`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>, Int32) -> R) -> R {
  let copies = strings.map { strdup($0) }
  defer { copies.forEach { free($0) } }
  let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
  return pointers.withUnsafeBufferPointer { body($0.baseAddress!, Int32($0.count)) }
}
