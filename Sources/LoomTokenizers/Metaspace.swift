import Foundation

/// HF's Metaspace (SentencePiece's whitespace handling): spaces become `replacement` ("▁"),
/// a "▁" is prepended per `prepend_scheme`, and with `split` each "▁" starts a new piece.
public struct Metaspace: Equatable, Sendable {
  public enum PrependScheme: String, Sendable {
    case first, never, always
  }
  /// One character (HF's `char`).
  public var replacement: String
  public var prependScheme: PrependScheme
  public var split: Bool

  public init(replacement: String = "▁", prependScheme: PrependScheme = .always, split: Bool = true)
  {
    self.replacement = replacement
    self.prependScheme = prependScheme
    self.split = split
  }

  /// Rewrites each piece as HF's `pre_tokenize` does: `replace(' ', "▁")` aligns each "▁" to
  /// its space; `prepend` aligns the new "▁" to the piece's first character.
  func split(_ nt: inout NormalizedText, _ pieces: inout [(Int, Int)], segmentStart: Int) {
    let rep = Array(replacement.utf8)
    var nb = [UInt8]()
    var ns = [Int32]()
    var ne = [Int32]()
    nb.reserveCapacity(nt.bytes.count + 8)
    var out = [(Int, Int)]()
    var last = 0
    func copy(_ r: Range<Int>) {
      nb += nt.bytes[r]
      ns += nt.starts[r]
      ne += nt.ends[r]
    }
    for (s, e) in pieces {
      if s > last { copy(last..<s) }
      last = max(last, e)
      let ps = nb.count
      guard e > s else {
        out.append((ps, ps))
        continue
      }
      let startsWithRep = nt.bytes[s] == 0x20 || nt.bytes[s..<e].starts(with: rep)
      let origin = s == 0 ? segmentStart : Int(nt.starts[s])
      let prepend =
        !startsWithRep
        && (prependScheme == .always || (prependScheme == .first && origin == 0))
      if prepend {
        for _ in rep {
          nb.append(0)
          ns.append(nt.starts[s])
          ne.append(nt.ends[s])
        }
        nb.replaceSubrange((nb.count - rep.count)..., with: rep)
      }
      for i in s..<e {
        if nt.bytes[i] == 0x20 {
          nb += rep
          for _ in rep {
            ns.append(nt.starts[i])
            ne.append(nt.ends[i])
          }
        } else {
          nb.append(nt.bytes[i])
          ns.append(nt.starts[i])
          ne.append(nt.ends[i])
        }
      }
      out.append((ps, nb.count))
    }
    if last < nt.bytes.count { copy(last..<nt.bytes.count) }
    nt = NormalizedText(bytes: nb, starts: ns, ends: ne)
    pieces = out
    if split {
      var refined = [(Int, Int)]()
      nt.bytes.withUnsafeBufferPointer { p in
        for (s, e) in pieces where e > s {
          splitPattern(p, s, e, .string(replacement), .mergedWithNext, false, &refined)
        }
      }
      pieces = refined
    }
  }

  /// HF's Metaspace decoder: "▁" → " ", except in the first token (unless `never`) where it goes.
  func decodeChain(_ tokens: [String]) -> [String] {
    let r = replacement.unicodeScalars.first
    return tokens.enumerated().map { i, t in
      var s = String.UnicodeScalarView()
      for c in t.unicodeScalars {
        if c == r {
          if !(i == 0 && prependScheme != .never) { s.append(" ") }
        } else {
          s.append(c)
        }
      }
      return String(s)
    }
  }
}
