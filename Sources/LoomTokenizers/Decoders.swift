import Foundation

/// Decoders: turn tokens back into text.
public indirect enum Decoder {
  case byteLevel
  case wordPiece(prefix: String, cleanup: Bool)
  case metaspace(Metaspace)
  case byteFallback
  case fuse
  case strip(content: String, start: Int, stop: Int)
  case replace(pattern: SplitPattern, content: String)
  case sequence([Decoder])

  func decode(_ tokens: [String]) -> String { decodeChain(tokens).joined() }

  /// HF's `decode_chain`: tokens in, tokens out, so a Sequence feeds each decoder the last
  /// one's tokens.
  func decodeChain(_ tokens: [String]) -> [String] {
    switch self {
    case .metaspace(let m): return m.decodeChain(tokens)
    case .byteFallback: return byteFallbackChain(tokens)
    case .fuse: return [tokens.joined()]
    case .strip(let content, let start, let stop):
      return tokens.map { stripChain($0, content, start, stop) }
    case .replace(let pattern, let content):
      return tokens.map { t in
        var b = Array(t.utf8)
        var out = [UInt8]()
        b.withUnsafeBufferPointer { p in
          var last = 0
          for (s, e) in patternMatches(p, 0, p.count, pattern) {
            out += p[last..<s]
            out += content.utf8
            last = e
          }
          out += p[last...]
        }
        b = out
        return String(decoding: b, as: UTF8.self)
      }
    case .sequence(let ds):
      var t = tokens
      for d in ds { t = d.decodeChain(t) }
      return t
    default: return [decodeWhole(tokens)]
    }
  }

  private func decodeWhole(_ tokens: [String]) -> String {
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
    default: return decodeChain(tokens).joined()
    }
  }
}

/// HF's ByteFallback decoder: runs of `<0xNN>` tokens become their UTF-8 text, or one "�"
/// per byte when the run is not valid UTF-8.
private func byteFallbackChain(_ tokens: [String]) -> [String] {
  var out = [String]()
  var run = [UInt8]()
  func flush() {
    if run.isEmpty { return }
    if let s = String(validating: run, as: UTF8.self) {
      out.append(s)
    } else {
      out += Array(repeating: "\u{FFFD}", count: run.count)
    }
    run.removeAll()
  }
  for t in tokens {
    let u = Array(t.utf8)
    if u.count == 6, t.hasPrefix("<0x"), u[5] == UInt8(ascii: ">"),
      let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16),
      u[3] != UInt8(ascii: "-")
    {
      run.append(b)
    } else {
      flush()
      out.append(t)
    }
  }
  flush()
  return out
}

/// HF's Strip decoder: drops up to `start` leading and `stop` trailing `content` characters.
private func stripChain(_ t: String, _ content: String, _ start: Int, _ stop: Int) -> String {
  let chars = Array(t.unicodeScalars)
  let c = content.unicodeScalars.first
  var lo = 0
  for i in 0..<min(start, chars.count) {
    guard chars[i] == c else { break }
    lo = i + 1
  }
  var hi = chars.count
  for i in 0..<min(stop, chars.count) {
    let k = chars.count - i - 1
    guard chars[k] == c else { break }
    hi = k
  }
  guard lo < hi else { return "" }
  var v = String.UnicodeScalarView()
  v.append(contentsOf: chars[lo..<hi])
  return String(v)
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
