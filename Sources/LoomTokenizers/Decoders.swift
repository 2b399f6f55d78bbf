import Foundation

/// Decoders: turn tokens back into text.
public indirect enum Decoder {
  case byteLevel
  case wordPiece(prefix: String, cleanup: Bool)
  case sequence([Decoder])

  func decode(_ tokens: [String]) -> String {
    switch self {
    case .byteLevel:
      var bytes = [UInt8]()
      for t in tokens {
        for u in t.unicodeScalars {
          let v = Int(u.value)
          if v < ByteLevel.scalarToByte.count, ByteLevel.scalarToByte[v] >= 0 {
            bytes.append(UInt8(ByteLevel.scalarToByte[v]))
          } else {
            bytes.append(contentsOf: String(u).utf8)
          }
        }
      }
      return String(decoding: bytes, as: UTF8.self)
    case .wordPiece(let prefix, let cleanup):
      var out = ""
      for (i, t) in tokens.enumerated() {
        var piece = t
        // Compare bytes, not Characters: "##ि" is not Character-prefixed by "##".
        if i != 0 && piece.utf8.starts(with: prefix.utf8) {
          piece = String(decoding: piece.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
        } else if i != 0 {
          piece = " " + piece
        }
        if cleanup { piece = cleanupTokenization(piece) }
        out += piece
      }
      return out
    case .sequence(let ds):
      var t = tokens
      for d in ds { t = [d.decode(t)] }
      return t.joined()
    }
  }
}

/// HF's `cleanup` of WordPiece output: glue punctuation and English contractions back.
func cleanupTokenization(_ s: String) -> String {
  var r = s
  for (a, b) in [
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
    (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
  ] {
    r = r.replacingOccurrences(of: a, with: b)
  }
  return r
}
