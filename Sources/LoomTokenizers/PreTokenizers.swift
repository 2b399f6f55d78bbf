import Foundation

/// How a Split pre-tokenizer treats the matched delimiters.
public enum SplitBehavior: String {
  case removed = "Removed"
  case isolated = "Isolated"
  case mergedWithPrevious = "MergedWithPrevious"
  case mergedWithNext = "MergedWithNext"
  case contiguous = "Contiguous"
}

/// Pre-tokenizers from HF tokenizers; they cut normalized bytes into pieces.
public indirect enum PreTokenizer {
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool, trimOffsets: Bool)
  case bert
  case whitespace
  case whitespaceSplit
  case split(pattern: SplitPattern, behavior: SplitBehavior, invert: Bool)
  case metaspace(Metaspace)
  case sequence([PreTokenizer])

  /// True when pieces are to be read by the model as byte-level characters.
  var isByteLevel: Bool {
    switch self {
    case .byteLevel: return true
    case .sequence(let xs): return xs.contains { $0.isByteLevel }
    default: return false
    }
  }

  var addsPrefixSpace: Bool {
    switch self {
    case .byteLevel(let a, _, _): return a
    case .sequence(let xs): return xs.contains { $0.addsPrefixSpace }
    default: return false
    }
  }

  /// True when pre-tokenizing rewrites the text (a prefix space, Metaspace's "▁").
  var changesText: Bool {
    switch self {
    case .metaspace: return true
    case .sequence(let xs): return xs.contains { $0.changesText }
    default: return addsPrefixSpace
    }
  }

  /// Refines `pieces` of normalized text; ByteLevel with `add_prefix_space` may insert a
  /// space before each piece (HF does it per split), so the text itself can change.
  /// `segmentStart`: the original byte offset the text starts at (Metaspace's "first" scheme).
  func split(_ nt: inout NormalizedText, _ pieces: inout [(Int, Int)], segmentStart: Int = 0) {
    switch self {
    case .sequence(let xs):
      for x in xs { x.split(&nt, &pieces, segmentStart: segmentStart) }
      return
    case .metaspace(let m) where nt.starts.count == nt.bytes.count:
      m.split(&nt, &pieces, segmentStart: segmentStart)
      return
    case .byteLevel(true, _, _) where nt.starts.count == nt.bytes.count:
      prefixSpaces(&nt, &pieces)
    default: break
    }
    split(nt.bytes, &pieces)
  }

  /// Refines `pieces` ([start, end) byte ranges of `text`); no text changes.
  func split(_ text: [UInt8], _ pieces: inout [(Int, Int)]) {
    if case .sequence(let xs) = self {
      for x in xs { x.split(text, &pieces) }
      return
    }
    var out = [(Int, Int)]()
    out.reserveCapacity(pieces.count * 2)
    var ends = [Int]()
    text.withUnsafeBufferPointer { p in
      for (s, e) in pieces where e > s {
        switch self {
        case .byteLevel(_, let useRegex, _):
          if !useRegex {
            out.append((s, e))
            continue
          }
          ends.removeAll(keepingCapacity: true)
          gpt2Split(p, s, e, into: &ends)
          var a = s
          for b in ends {
            out.append((a, b))
            a = b
          }
        case .bert: splitClasses(p, s, e, &out, punctuation: true)
        case .whitespaceSplit: splitClasses(p, s, e, &out, punctuation: false)
        case .whitespace: splitWordsPunct(p, s, e, &out)
        case .split(let pattern, let behavior, let invert):
          splitPattern(p, s, e, pattern, behavior, invert, &out)
        case .metaspace(let m):
          if m.split {
            splitPattern(p, s, e, .string(m.replacement), .mergedWithNext, false, &out)
          } else {
            out.append((s, e))
          }
        case .sequence: break
        }
      }
    }
    pieces = out
  }
}

/// Prepends a space (aligned like the piece's first character) to pieces not starting with one.
private func prefixSpaces(_ nt: inout NormalizedText, _ pieces: inout [(Int, Int)]) {
  guard pieces.contains(where: { $0.1 > $0.0 && nt.bytes[$0.0] != 0x20 }) else { return }
  var nb = [UInt8]()
  var ns = [Int32]()
  var ne = [Int32]()
  var out = [(Int, Int)]()
  var last = 0
  for (s, e) in pieces {
    if s > last {
      nb += nt.bytes[last..<s]
      ns += nt.starts[last..<s]
      ne += nt.ends[last..<s]
    }
    let ps = nb.count
    if e > s && nt.bytes[s] != 0x20 {
      nb.append(0x20)
      ns.append(nt.starts[s])
      ne.append(nt.ends[s])
    }
    nb += nt.bytes[s..<e]
    ns += nt.starts[s..<e]
    ne += nt.ends[s..<e]
    out.append((ps, nb.count))
    last = max(last, e)
  }
  if last < nt.bytes.count {
    nb += nt.bytes[last...]
    ns += nt.starts[last...]
    ne += nt.ends[last...]
  }
  nt = NormalizedText(bytes: nb, starts: ns, ends: ne)
  pieces = out
}

/// Whitespace removed; with `punctuation` each punctuation character is its own piece.
private func splitClasses(
  _ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ out: inout [(Int, Int)], punctuation: Bool
) {
  var i = s
  var start = -1
  while i < e {
    let (v, l) = decodeScalar(p, i)
    let c = v.map { CharClasses.of($0) } ?? .other
    if c == .space {
      if start >= 0 {
        out.append((start, i))
        start = -1
      }
    } else if punctuation, let v, isBertPunctuation(v) {
      if start >= 0 {
        out.append((start, i))
        start = -1
      }
      out.append((i, i + l))
    } else if start < 0 {
      start = i
    }
    i += l
  }
  if start >= 0 { out.append((start, e)) }
}

/// HF `Whitespace`: the pattern `\w+|[^\w\s]+`.
private func splitWordsPunct(
  _ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ out: inout [(Int, Int)]
) {
  var i = s
  var start = -1
  var kind = 0  // 1 word, 2 other
  while i < e {
    let (v, l) = decodeScalar(p, i)
    let k: Int
    if let v {
      let c = CharClasses.of(v)
      k = c == .space ? 0 : (isWordChar(v, c) ? 1 : 2)
    } else {
      k = 2
    }
    if k != kind {
      if start >= 0 { out.append((start, i)) }
      start = k == 0 ? -1 : i
      kind = k
    }
    i += l
  }
  if start >= 0 { out.append((start, e)) }
}

/// Oniguruma's Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation, joiners.
private func isWordChar(_ v: UInt32, _ c: CharClass) -> Bool {
  if v < 0x80 {
    return (v >= 0x30 && v <= 0x39) || (v | 0x20 >= 0x61 && v | 0x20 <= 0x7A) || v == 0x5F
  }
  if v == 0x200C || v == 0x200D { return true }
  guard let s = Unicode.Scalar(v) else { return false }
  let p = s.properties
  if p.isAlphabetic { return true }
  switch p.generalCategory {
  case .nonspacingMark, .spacingMark, .enclosingMark, .connectorPunctuation, .decimalNumber:
    return true
  default: return false
  }
}

func isBertPunctuation(_ v: UInt32) -> Bool {
  if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v)
    || (123...126).contains(v)
  {
    return true
  }
  guard v >= 0x80, let s = Unicode.Scalar(v) else { return false }
  switch s.properties.generalCategory {
  case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
    .initialPunctuation, .finalPunctuation, .otherPunctuation:
    return true
  default: return false
  }
}

/// A Split pattern: a literal string or a regular expression.
public enum SplitPattern {
  case string(String)
  case regex(String)
}

/// Non-overlapping matches of `pattern` in p[s..<e], left to right, as byte ranges.
func patternMatches(
  _ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ pattern: SplitPattern
) -> [(Int, Int)] {
  var matches = [(Int, Int)]()
  let piece = Array(p[s..<e])
  switch pattern {
  case .string(let lit):
    let needle = Array(lit.utf8)
    if !needle.isEmpty {
      var i = 0
      while i + needle.count <= piece.count {
        if piece[i..<(i + needle.count)].elementsEqual(needle) {
          matches.append((s + i, s + i + needle.count))
          i += needle.count
        } else {
          i += 1
        }
      }
    }
  case .regex(let pat):
    guard let re = try? NSRegularExpression(pattern: pat) else { break }
    let str = String(decoding: piece, as: UTF8.self)
    let ns = str as NSString
    // UTF-16 offsets -> byte offsets.
    var u16ToByte = [Int](repeating: 0, count: ns.length + 1)
    var u16 = 0
    var b = 0
    for ch in str.unicodeScalars {
      let w = ch.utf16.count
      for k in 0..<w { u16ToByte[u16 + k] = b }
      u16 += w
      b += ch.utf8.count
    }
    u16ToByte[u16] = b
    for m in re.matches(in: str, range: NSRange(location: 0, length: ns.length))
    where m.range.length > 0 {
      matches.append(
        (s + u16ToByte[m.range.location], s + u16ToByte[m.range.location + m.range.length]))
    }
  }
  return matches
}

func splitPattern(
  _ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ pattern: SplitPattern,
  _ behavior: SplitBehavior, _ invert: Bool, _ out: inout [(Int, Int)]
) {
  let matches = patternMatches(p, s, e, pattern)
  // Segments flagged as match or not.
  var segs = [(Int, Int, Bool)]()
  var a = s
  for (ms, me) in matches {
    if ms > a { segs.append((a, ms, false)) }
    segs.append((ms, me, true))
    a = me
  }
  if a < e { segs.append((a, e, false)) }
  if invert { segs = segs.map { ($0.0, $0.1, !$0.2) } }
  switch behavior {
  case .removed: for x in segs where !x.2 { out.append((x.0, x.1)) }
  case .isolated: for x in segs { out.append((x.0, x.1)) }
  case .contiguous:
    var cur: (Int, Int, Bool)?
    for x in segs {
      if let c = cur, c.2 == x.2 {
        cur = (c.0, x.1, c.2)
      } else {
        if let c = cur { out.append((c.0, c.1)) }
        cur = x
      }
    }
    if let c = cur { out.append((c.0, c.1)) }
  case .mergedWithPrevious:
    var cur: (Int, Int)?
    var curHasMatch = false
    for x in segs {
      if x.2, let c = cur, !curHasMatch {
        cur = (c.0, x.1)
        curHasMatch = true
      } else {
        if let c = cur { out.append(c) }
        cur = (x.0, x.1)
        curHasMatch = x.2
      }
    }
    if let c = cur { out.append(c) }
  case .mergedWithNext:
    var pending: (Int, Int)?
    for x in segs {
      if x.2 {
        if let q = pending { out.append(q) }
        pending = (x.0, x.1)
      } else if let q = pending {
        out.append((q.0, x.1))
        pending = nil
      } else {
        out.append((x.0, x.1))
      }
    }
    if let q = pending { out.append(q) }
  }
}
