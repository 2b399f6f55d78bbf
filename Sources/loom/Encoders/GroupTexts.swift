import Foundation
import LoomTokenizers

/// Masked-LM example layout.
enum MaskedLMExamples {
  /// HF run_mlm's `group_texts`: every line tokenised with its special tokens, concatenated,
  /// cut into blocks of `blockSize` (the remainder dropped, unless it is all there is).
  static func grouped(_ encodings: [Encoding], blockSize: Int) -> [Encoding] {
    var ids = [UInt32](), special = [UInt32]()
    for e in encodings {
      ids += e.ids
      special += e.specialTokensMask
    }
    var n = ids.count / blockSize * blockSize
    if n == 0 { n = ids.count }
    return stride(from: 0, to: n, by: blockSize).map { start in
      var e = Encoding()
      let end = min(start + blockSize, n)
      e.ids = Array(ids[start..<end])
      e.specialTokensMask = Array(special[start..<end])
      return e
    }
  }
}
