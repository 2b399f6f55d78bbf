/// Character classes used by the pre-tokenizers, looked up on raw UTF-8 bytes.
enum CharClass: UInt8 {
  case other = 0
  case letter = 1
  case number = 2
  case space = 3
}

/// Decodes one scalar at `i`; invalid or truncated sequences yield (nil, 1) so they act as one opaque byte.
@inline(__always)
func decodeScalar(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32?, Int) {
  let b0 = UInt32(p[i])
  if b0 < 0x80 { return (b0, 1) }
  let n = p.count
  if b0 & 0xE0 == 0xC0 {
    guard b0 >= 0xC2, i + 1 < n, p[i + 1] & 0xC0 == 0x80 else { return (nil, 1) }
    return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2)
  }
  if b0 & 0xF0 == 0xE0 {
    guard i + 2 < n, p[i + 1] & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80 else { return (nil, 1) }
    let v = (b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
    guard v >= 0x800, !(0xD800...0xDFFF).contains(v) else { return (nil, 1) }
    return (v, 3)
  }
  if b0 & 0xF8 == 0xF0 {
    guard i + 3 < n, p[i + 1] & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80, p[i + 3] & 0xC0 == 0x80
    else { return (nil, 1) }
    let v =
      (b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6
      | UInt32(p[i + 3] & 0x3F)
    guard v >= 0x10000, v <= 0x10FFFF else { return (nil, 1) }
    return (v, 4)
  }
  return (nil, 1)
}

/// Class tables: the whole BMP is precomputed once (64 KiB) so scanning never calls into
/// the Unicode property APIs on the hot path.
enum CharClasses {
  static let bmp: [UInt8] = {
    var t = [UInt8](repeating: 0, count: 0x10000)
    for v in 0..<0x10000 { t[v] = compute(UInt32(v)).rawValue }
    return t
  }()

  static func compute(_ v: UInt32) -> CharClass {
    guard let s = Unicode.Scalar(v) else { return .other }
    let p = s.properties
    if p.isWhitespace { return .space }
    switch p.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
      return .letter
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    default: return .other
    }
  }

  @inline(__always)
  static func of(_ v: UInt32) -> CharClass {
    v < 0x10000 ? CharClass(rawValue: bmp[Int(v)])! : compute(v)
  }
}

/// Class and byte length of the character at `i`.
@inline(__always)
func classify(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ table: UnsafePointer<UInt8>) -> (
  UInt8, Int
) {
  let b = p[i]
  if b < 0x80 { return (table[Int(b)], 1) }
  let (v, len) = decodeScalar(p, i)
  guard let v else { return (CharClass.other.rawValue, 1) }
  return (v < 0x10000 ? table[Int(v)] : CharClasses.compute(v).rawValue, len)
}
