import Foundation

/// Text normalizers from HF tokenizers.
public indirect enum Normalizer {
  case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool?, lowercase: Bool)
  case nfc, nfkc, nfd, nfkd
  case lowercase
  case stripAccents
  case precompiled(PrecompiledCharsmap)
  case replace(pattern: SplitPattern, content: String)
  case strip(left: Bool, right: Bool)
  case prepend(String)
  /// SentencePiece's NMT rules: ASCII controls dropped, other spaces made " ".
  case nmt
  case sequence([Normalizer])

  func apply(_ n: inout NormalizedText) {
    switch self {
    case .precompiled(let m): m.apply(&n)
    case .nmt:
      n.mapScalars { v, out in
        switch v {
        case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x8F, 0x9F: return
        case 0x09, 0x0A, 0x0C, 0x0D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF,
          0xFFFD:
          out.append(0x20)
        default: out.append(v)
        }
      }
    case .replace(let pattern, let content): replaceMatches(&n, pattern, content)
    case .strip(let l, let r): stripWhitespace(&n, left: l, right: r)
    case .prepend(let s):
      // HF's `prepend`: the new text takes the first character's alignment.
      guard !n.bytes.isEmpty else { return }
      let add = Array(s.utf8)
      n = NormalizedText(
        bytes: add + n.bytes, starts: Array(repeating: n.starts[0], count: add.count) + n.starts,
        ends: Array(repeating: n.ends[0], count: add.count) + n.ends)
    case .sequence(let xs): for x in xs { x.apply(&n) }
    case .lowercase: n.mapScalars { v, out in appendLower(v, &out) }
    case .stripAccents: n.mapScalars { v, out in if !isMark(v, anyKind: true) { out.append(v) } }
    case .nfc: unicodeForm(&n) { $0.precomposedStringWithCanonicalMapping }
    case .nfkc: unicodeForm(&n) { $0.precomposedStringWithCompatibilityMapping }
    case .nfd: decompose(&n, compatibility: false)
    case .nfkd: decompose(&n, compatibility: true)
    case .bert(let clean, let chinese, let strip, let lower):
      if clean {
        n.mapScalars { v, out in
          if v == 0 || v == 0xFFFD || isControl(v) { return }
          out.append(CharClasses.of(v) == .space ? 0x20 : v)
        }
      }
      if chinese {
        n.mapScalars { v, out in
          if isChinese(v) {
            out.append(0x20)
            out.append(v)
            out.append(0x20)
          } else {
            out.append(v)
          }
        }
      }
      // HF strips accents whenever lowercasing unless told otherwise.
      if strip ?? lower {
        Normalizer.nfd.apply(&n)
        n.mapScalars { v, out in if !isMark(v) { out.append(v) } }
      }
      if lower { Normalizer.lowercase.apply(&n) }
    }
  }
}

/// Applies a Unicode normalization form per grapheme cluster (normalization never crosses
/// one). Output scalar k takes the range of input scalar k (the last one past the end), so a
/// composed character keeps its base's range and a dropped combining mark leaves none, as in HF.
private func unicodeForm(_ n: inout NormalizedText, _ f: (String) -> String) {
  if n.bytes.allSatisfy({ $0 < 0x80 }) { return }
  var nb = [UInt8]()
  var ns = [Int32]()
  var ne = [Int32]()
  let s = n.string
  var off = 0
  var ranges = [(Int32, Int32)]()
  for ch in s {
    ranges.removeAll(keepingCapacity: true)
    for u in ch.unicodeScalars {
      let l = String(u).utf8.count
      ranges.append((n.starts[off], n.ends[off + l - 1]))
      off += l
    }
    for (k, v) in f(String(ch)).unicodeScalars.enumerated() {
      let r = ranges[min(k, ranges.count - 1)]
      appendScalar(v.value, &nb) {
        ns.append(r.0)
        ne.append(r.1)
      }
    }
  }
  n = NormalizedText(bytes: nb, starts: ns, ends: ne)
}

/// Decomposition works scalar by scalar, so each output keeps its own source's range
/// (what lets a stripped accent drop out of the offsets, as in HF).
private func decompose(_ n: inout NormalizedText, compatibility: Bool) {
  if n.bytes.allSatisfy({ $0 < 0x80 }) { return }
  n.mapScalars { v, out in
    guard v >= 0xC0, let s = Unicode.Scalar(v) else {
      out.append(v)
      return
    }
    let str = String(s)
    let d =
      compatibility
      ? str.decomposedStringWithCompatibilityMapping : str.decomposedStringWithCanonicalMapping
    for u in d.unicodeScalars { out.append(u.value) }
  }
}

private func appendLower(_ v: UInt32, _ out: inout [UInt32]) {
  if v < 0x80 {
    out.append(v >= 0x41 && v <= 0x5A ? v + 32 : v)
    return
  }
  guard let s = Unicode.Scalar(v) else {
    out.append(v)
    return
  }
  for u in s.properties.lowercaseMapping.unicodeScalars { out.append(u.value) }
}

/// BERT strips nonspacing marks only; the StripAccents normalizer strips every mark.
func isMark(_ v: UInt32, anyKind: Bool = false) -> Bool {
  guard let s = Unicode.Scalar(v) else { return false }
  switch s.properties.generalCategory {
  case .nonspacingMark: return true
  case .spacingMark, .enclosingMark: return anyKind
  default: return false
  }
}

/// HF counts Cc, Cf and Co as control; unassigned code points are kept (they become [UNK]).
private func isControl(_ v: UInt32) -> Bool {
  if v == 0x09 || v == 0x0A || v == 0x0D { return false }
  guard let s = Unicode.Scalar(v) else { return false }
  switch s.properties.generalCategory {
  case .control, .format, .privateUse, .surrogate: return true
  default: return false
  }
}

func isChinese(_ v: UInt32) -> Bool {
  (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
    || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v)
    || (0x2B920...0x2CEAF).contains(v) || (0xF900...0xFAFF).contains(v)
    || (0x2F800...0x2FA1F).contains(v)
}

/// HF's `NormalizedString::replace`: each match's replacement takes the alignment of the
/// match's last byte.
private func replaceMatches(_ n: inout NormalizedText, _ pattern: SplitPattern, _ content: String) {
  let matches = n.bytes.withUnsafeBufferPointer { patternMatches($0, 0, $0.count, pattern) }
  if matches.isEmpty { return }
  let c = Array(content.utf8)
  var nb = [UInt8]()
  var ns = [Int32]()
  var ne = [Int32]()
  var last = 0
  for (s, e) in matches {
    nb += n.bytes[last..<s]
    ns += n.starts[last..<s]
    ne += n.ends[last..<s]
    nb += c
    ns += Array(repeating: n.starts[e - 1], count: c.count)
    ne += Array(repeating: n.ends[e - 1], count: c.count)
    last = e
  }
  nb += n.bytes[last...]
  ns += n.starts[last...]
  ne += n.ends[last...]
  n = NormalizedText(bytes: nb, starts: ns, ends: ne)
}

/// HF's Strip normalizer: Unicode whitespace off either end.
private func stripWhitespace(_ n: inout NormalizedText, left: Bool, right: Bool) {
  let scalars = n.string.unicodeScalars
  var lo = 0
  var hi = n.bytes.count
  if left {
    for u in scalars {
      guard u.properties.isWhitespace else { break }
      lo += String(u).utf8.count
    }
  }
  if right, lo < hi {
    for u in scalars.reversed() {
      guard u.properties.isWhitespace, hi - String(u).utf8.count >= lo else { break }
      hi -= String(u).utf8.count
    }
  }
  if lo == 0 && hi == n.bytes.count { return }
  n = NormalizedText(
    bytes: Array(n.bytes[lo..<hi]), starts: Array(n.starts[lo..<hi]), ends: Array(n.ends[lo..<hi]))
}
