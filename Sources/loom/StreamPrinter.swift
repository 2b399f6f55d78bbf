import Foundation
import LoomGenerate

/// Prints generated text as tokens arrive (`loom generate --stream`). A token can end inside a
/// multi-byte character, so the whole continuation is decoded each time and only text that
/// extends what was printed goes out.
struct StreamPrinter {
  let codec: TextCodec
  private var generated: [Int] = []
  private var printed = ""

  init(codec: TextCodec) { self.codec = codec }

  mutating func add(_ token: Int) {
    generated.append(token)
    let text = codec.decode(generated)
    if text.count > printed.count, text.hasPrefix(printed) {
      print(text.dropFirst(printed.count), terminator: "")
      fflush(stdout)
      printed = text
    }
  }

  /// Prints what is left and ends the line.
  func finish() {
    let text = codec.decode(generated)
    if text.hasPrefix(printed) { print(text.dropFirst(printed.count), terminator: "") }
    print()
  }
}
