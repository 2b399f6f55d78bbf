import Foundation
import FuzzSupport
import LoomTokenizers

/// A directory holding only vocab.txt (WordPiece) through Tokenizer.load(path:).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let dir = Scratch.directory + "/wordpiece"
  try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  Scratch.write("wordpiece/vocab.txt", UnsafeRawBufferPointer(start: data, count: size))
  do {
    let t = try Tokenizer.load(path: dir)
    let ids = t.encodeIds("Hello, world! unaffable déjà vu 123")
    _ = t.decode(ids, skipSpecialTokens: false)
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
