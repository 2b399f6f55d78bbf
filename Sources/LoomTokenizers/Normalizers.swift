import Foundation

/// Text normalizers from HF tokenizers.
public indirect enum Normalizer {
  case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool?, lowercase: Bool)
  case nfc, nfkc, nfd, nfkd
  case lowercase
  case stripAccents
  case sequence([Normalizer])

  func apply(_ n: inout NormalizedText) {
    switch self {
    case .sequence(let xs): for x in xs { x.apply(&n) }
    case .lowercase: n.mapScalars { v, out in appendLower(v, &out) }
    case .stripAccents: n.mapScalars { v, out in if !isMark(v) { out.append(v) } }
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
          if isChinese(v) { out.append(0x20); out.append(v); out.append(0x20) } else { out.append(v) }
        }
      }
      // HF strips accents whenever lowercasing unless told otherwise.
      if strip ?? lower { Normalizer.nfd.apply(&n); Normalizer.stripAccents.apply(&n) }
      if lower { Normalizer.lowercase.apply(&n) }
    }
  }
}

/// Applies a Unicode normalization form per run of scalars, each output scalar taking the
/// range of the input cluster it came from.
private func unicodeForm(_ n: inout NormalizedText, _ f: (String) -> String) {
  if n.bytes.allSatisfy({ $0 < 0x80 }) { return }
  var nb = [UInt8](), ns = [Int32](), ne = [Int32]()
  let s = n.string
  var off = 0
  for ch in s {  // Character = grapheme cluster: normalization never crosses it
    let u = ch.utf8.count
    let st = n.starts[off], en = n.ends[off + u - 1]
    for v in f(String(ch)).unicodeScalars {
      appendScalar(v.value, &nb) { ns.append(st); ne.append(en) }
    }
    off += u
  }
  n = NormalizedText(bytes: nb, starts: ns, ends: ne)
}

/// Decomposition works scalar by scalar, so each output keeps its own source's range
/// (what lets a stripped accent drop out of the offsets, as in HF).
private func decompose(_ n: inout NormalizedText, compatibility: Bool) {
  if n.bytes.allSatisfy({ $0 < 0x80 }) { return }
  n.mapScalars { v, out in
    guard v >= 0xC0, let s = Unicode.Scalar(v) else { out.append(v); return }
    let str = String(s)
    let d = compatibility ? str.decomposedStringWithCompatibilityMapping : str.decomposedStringWithCanonicalMapping
    for u in d.unicodeScalars { out.append(u.value) }
  }
}

private func appendLower(_ v: UInt32, _ out: inout [UInt32]) {
  if v < 0x80 { out.append(v >= 0x41 && v <= 0x5A ? v + 32 : v); return }
  guard let s = Unicode.Scalar(v) else { out.append(v); return }
  for u in s.properties.lowercaseMapping.unicodeScalars { out.append(u.value) }
}

func isMark(_ v: UInt32) -> Bool {
  guard let s = Unicode.Scalar(v) else { return false }
  return s.properties.generalCategory == .nonspacingMark
}

private func isControl(_ v: UInt32) -> Bool {
  if v == 0x09 || v == 0x0A || v == 0x0D { return false }
  guard let s = Unicode.Scalar(v) else { return false }
  switch s.properties.generalCategory {
  case .control, .format, .privateUse, .surrogate, .unassigned: return true
  default: return false
  }
}

func isChinese(_ v: UInt32) -> Bool {
  (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
    || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v)
    || (0x2B920...0x2CEAF).contains(v) || (0xF900...0xFAFF).contains(v)
    || (0x2F800...0x2FA1F).contains(v)
}
