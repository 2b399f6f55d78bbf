import CFuzzDriver
import Foundation

/// Runs libFuzzer with the process's arguments and `body` as the per-input callback.
public func runFuzzer(_ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
  var argc = CommandLine.argc
  var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
  exit(LLVMFuzzerRunDriver(&argc, &argv, body))
}

/// Scratch files for targets whose reader takes a path: one directory per process,
/// reused across inputs.
public enum Scratch {
  public static let directory: String = {
    let d = NSTemporaryDirectory() + "loom-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }()

  /// Writes `bytes` to `name` in the scratch directory and returns its path.
  @discardableResult
  public static func write(_ name: String, _ bytes: UnsafeRawBufferPointer) -> String {
    let path = directory + "/" + name
    // Plain fopen/fwrite: FileManager.createFile writes a temporary file and renames it,
    // which costs more than most reads being fuzzed.
    guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    if bytes.count > 0 { _ = fwrite(bytes.baseAddress!, 1, bytes.count, f) }
    fclose(f)
    return path
  }

  /// Splits an input at the first "\n---\n" (for targets reading two files).
  public static func split(_ bytes: UnsafeRawBufferPointer) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
    let sep = Array("\n---\n".utf8)
    if bytes.count >= sep.count {
      for i in 0...(bytes.count - sep.count) where bytes[i] == sep[0] && Array(bytes[i..<i + sep.count]) == sep {
        return (UnsafeRawBufferPointer(rebasing: bytes[..<i]), UnsafeRawBufferPointer(rebasing: bytes[(i + sep.count)...]))
      }
    }
    return (bytes, UnsafeRawBufferPointer(start: nil, count: 0))
  }

  /// Writes the input as each of `names` in turn (readers that pick the format by extension)
  /// and reads it with `body`, checking any error it throws.
  public static func read(
    _ input: UnsafePointer<UInt8>?, _ size: Int, as names: [String], _ body: (String) throws -> Void
  ) {
    guard let input else { return }
    for name in names {
      let path = write(name, UnsafeRawBufferPointer(start: input, count: size))
      do { try body(path) } catch { check(error) }
    }
  }

  /// A thrown error must carry a message (the readers' contract).
  public static func check(_ error: Error) {
    if "\(error)".isEmpty { fatalError("a reader threw an error with an empty message") }
  }
}
