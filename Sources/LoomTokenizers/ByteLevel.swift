/// GPT-2's reversible byte <-> printable-character mapping.
public enum ByteLevel {
  /// Scalar value standing for each byte.
  public static let byteToScalar: [UInt32] = {
    var printable = [Bool](repeating: false, count: 256)
    for r in [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF] { for b in r { printable[b] = true } }
    var out = [UInt32](repeating: 0, count: 256)
    var extra: UInt32 = 0
    for b in 0..<256 {
      if printable[b] {
        out[b] = UInt32(b)
      } else {
        out[b] = 256 + extra
        extra += 1
      }
    }
    return out
  }()

  /// Inverse map for scalars < 324; -1 where a scalar stands for no byte.
  public static let scalarToByte: [Int16] = {
    var t = [Int16](repeating: -1, count: 324)
    for (b, s) in byteToScalar.enumerated() { t[Int(s)] = Int16(b) }
    return t
  }()

  /// UTF-8 of the mapped character for each byte (1 or 2 bytes).
  static let byteToUTF8: [[UInt8]] = byteToScalar.map { Array(String(Unicode.Scalar($0)!).utf8) }

  /// The 256 mapped characters, as `ByteLevel.alphabet()` in HF.
  public static var alphabet: [String] { byteToScalar.map { String(Unicode.Scalar($0)!) } }

  /// Maps raw bytes to the byte-level string.
  public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    var out = [UInt8]()
    for b in bytes { out.append(contentsOf: byteToUTF8[Int(b)]) }
    return String(decoding: out, as: UTF8.self)
  }

  /// Maps a byte-level string back to bytes; nil if it holds a character outside the map.
  public static func decode(_ s: String) -> [UInt8]? {
    var out = [UInt8]()
    out.reserveCapacity(s.utf8.count)
    for u in s.unicodeScalars {
      let v = Int(u.value)
      guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return nil }
      out.append(UInt8(scalarToByte[v]))
    }
    return out
  }
}

/// Hand-rolled equivalent of GPT-2's split regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// Appends the end offset of every piece of `p[start..<end]` to `ends`.
func gpt2Split(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into ends: inout [Int]) {
  CharClasses.bmp.withUnsafeBufferPointer { tb in
    let t = tb.baseAddress!
    let q = UnsafeBufferPointer(rebasing: p[..<end])
    let letter = CharClass.letter.rawValue
    let number = CharClass.number.rawValue
    let space = CharClass.space.rawValue
    let other = CharClass.other.rawValue
    var i = start
    while i < end {
      let b = q[i]
      // Contractions.
      if b == 0x27, i + 1 < end {
        let c1 = q[i + 1]
        if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 {  // s t m d
          i += 2
          ends.append(i)
          continue
        }
        if i + 2 < end {
          let c2 = q[i + 2]
          if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C)
          {
            i += 3
            ends.append(i)
            continue
          }
        }
      }
      var (cls, len) = classify(q, i, t)
      var j = i
      if b == 0x20, i + 1 < end {
        // ` ?X+`: a single leading space joins a following run of letters, numbers or others.
        let (c2, l2) = classify(q, i + 1, t)
        if c2 != space {
          cls = c2
          j = i + 1
          len = l2
        }
      }
      if cls == letter || cls == number || cls == other {
        j += len
        while j < end {
          let (c, l) = classify(q, j, t)
          if c != cls { break }
          j += l
        }
        ends.append(j)
        i = j
        continue
      }
      // Whitespace run: keep its last character for the next piece when a non-space follows.
      var last = j
      j += len
      while j < end {
        let (c, l) = classify(q, j, t)
        if c != space { break }
        last = j
        j += l
      }
      if j < end && last > i { j = last }
      ends.append(j)
      i = j
    }
  }
}
