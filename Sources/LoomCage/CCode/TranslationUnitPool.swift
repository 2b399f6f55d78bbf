import CClang
import Foundation

// libclang translation units kept for reuse. A fresh clang_parseTranslationUnit2 runs clang's driver (argument
// parsing, toolchain and file-system probing) and builds a compiler instance before it reads a byte: on wolfSSL's
// headers that fixed cost was most of the parse — 246 empty files cost as much CPU as the 2.7 MB of real ones
// (bench/cage/libclang_parse.sh). clang_reparseTranslationUnit re-parses a unit's main file with new contents and
// the same compiler invocation (language, flags, the prelude's PCH), so a finished unit is handed back here and the
// next parse of the same language re-parses it instead. A unit is used by one parse at a time: it is taken out of the
// pool for the parse and given back when its tree is no longer needed (CParsedUnit's deinit).

final class TranslationUnitPool: @unchecked Sendable {
  struct Entry {
    let index: CXIndex
    let unit: CXTranslationUnit
    let language: CLanguage
    /// The prelude PCH the unit was made with (nil: the prelude as text); part of its invocation.
    let pch: String?

    func dispose() {
      clang_disposeTranslationUnit(unit)
      clang_disposeIndex(index)
    }
  }

  static let shared = TranslationUnitPool()

  /// `LOOM_CAGE_REUSE_UNITS=0` makes every parse a fresh one; tests switch it to compare the two.
  nonisolated(unsafe) static var enabled = ProcessInfo.processInfo.environment["LOOM_CAGE_REUSE_UNITS"] != "0"

  /// Units kept at most: one per core is what `--jobs` workers can use at once.
  let capacity = max(2, ProcessInfo.processInfo.activeProcessorCount)

  private let lock = NSLock()
  private var free: [Entry] = []
  private var reparseCount = 0

  /// Successful reparses so far (tests check that reuse happens).
  var reparses: Int { lock.withLock { reparseCount } }

  /// A unit made with the same invocation, taken out of the pool.
  func take(language: CLanguage, pch: String?) -> Entry? {
    guard Self.enabled else { return nil }
    return lock.withLock {
      guard let i = free.lastIndex(where: { $0.language == language && $0.pch == pch }) else { return nil }
      return free.remove(at: i)
    }
  }

  func countReparse() { lock.withLock { reparseCount += 1 } }

  /// Keeps a unit whose tree is no longer used, or disposes it when reuse is off or the pool is full.
  func give(_ entry: Entry) {
    let kept = Self.enabled && lock.withLock {
      guard free.count < capacity else { return false }
      free.append(entry)
      return true
    }
    if !kept { entry.dispose() }
  }
}
