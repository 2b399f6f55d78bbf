import CClangLoader

/// libclang, loaded when the C analyser first parses (not at program start: see clang_loader.h).
enum ClangLibrary {
  /// Throws a clear error when libclang cannot be loaded; the analyser's verdict is then a
  /// failure (fail-closed), never a pass.
  static func load() throws {
    var reason = [CChar](repeating: 0, count: 512)
    guard loom_clang_load(&reason, reason.count) == 0 else { return }
    throw CageError(
      "the C analyser needs libclang (LLVM 14), which could not be loaded: \(String(cString: reason)); install it with `apt install libclang-dev` or name the library file in LOOM_LIBCLANG"
    )
  }
}
