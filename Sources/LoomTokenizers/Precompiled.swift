import Foundation

/// SentencePiece's compiled normalization rules (`precompiled_charsmap`, base64 in
/// tokenizer.json): a little-endian u32 trie size, a Darts-clone double-array trie of that many
/// bytes mapping UTF-8 keys to offsets, then the NUL-separated replacement strings. Read as HF's
/// `spm_precompiled` crate reads it; every array access is bounds-checked (a bad index is no match).
public struct PrecompiledCharsmap: @unchecked Sendable {
  /// The file's bytes, written back as read.
  public let bytes: [UInt8]
  private let array: [UInt32]
  private let normalized: [UInt8]

  public enum BadCharsmap: Error, Equatable {
    case truncated(String)
    case invalidUTF8
  }

  public init(_ bytes: [UInt8]) throws {
    self.bytes = bytes
    guard bytes.count >= 4 else { throw BadCharsmap.truncated("shorter than its 4-byte header") }
    let trieSize = Int(
      UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
    let units = trieSize / 4
    guard units <= (bytes.count - 4) / 4 else {
      throw BadCharsmap.truncated(
        "its header declares a \(trieSize)-byte trie but only \(bytes.count - 4) bytes follow")
    }
    var a = [UInt32](repeating: 0, count: units)
    for i in 0..<units {
      let o = 4 + 4 * i
      a[i] =
        UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16
        | UInt32(bytes[o + 3]) << 24
    }
    array = a
    normalized = Array(bytes[(4 + 4 * units)...])
    guard String(validating: normalized, as: UTF8.self) != nil else {
      throw BadCharsmap.invalidUTF8
    }
  }

  private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
  private static func value(_ u: UInt32) -> Int { Int(u & ((1 << 31) - 1)) }
  private static func label(_ u: UInt32) -> UInt32 { u & ((1 << 31) | 0xFF) }
  private static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

  /// The replacement of the shortest key that prefixes `key` (spm_precompiled's `transform`
  /// takes the first common-prefix result), or nil.
  func transform<C: Collection>(_ key: C) -> ArraySlice<UInt8>? where C.Element == UInt8 {
    guard !array.isEmpty else { return nil }
    var pos = PrecompiledCharsmap.offset(array[0])
    for c in key {
      if c == 0 { break }
      pos ^= Int(c)
      guard pos < array.count else { return nil }
      let unit = array[pos]
      if PrecompiledCharsmap.label(unit) != UInt32(c) { return nil }
      pos ^= PrecompiledCharsmap.offset(unit)
      if PrecompiledCharsmap.hasLeaf(unit) {
        guard pos < array.count else { return nil }
        let start = PrecompiledCharsmap.value(array[pos])
        guard start <= normalized.count else { return nil }
        var end = start
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        // A start inside a UTF-8 sequence would not be a string (HF panics there).
        if start < normalized.count && normalized[start] & 0xC0 == 0x80 { return nil }
        return normalized[start..<end]
      }
    }
    return nil
  }

  /// HF's Precompiled normalizer: grapheme by grapheme (those under 6 bytes whole, else
  /// scalar by scalar), each replaced when the trie knows it; alignments follow HF's
  /// `replace` + `NormalizedString::transform`.
  func apply(_ n: inout NormalizedText) {
    var dest = [(UInt32, Int)]()
    dest.reserveCapacity(n.bytes.count)
    var modified = false
    func replace(_ oldCount: Int, _ new: ArraySlice<UInt8>) {
      let scalars = String(decoding: new, as: UTF8.self).unicodeScalars.map(\.value)
      for s in scalars { dest.append((s, 0)) }
      let diff = scalars.count - oldCount
      if diff > 0 {
        for k in (dest.count - diff)..<dest.count { dest[k].1 = 1 }
      } else if diff < 0, !dest.isEmpty {
        dest[dest.count - 1].1 += diff
      }
    }
    for g in n.string {
      let u = Array(g.utf8)
      if u.count < 6, let r = transform(u) {
        modified = true
        replace(g.unicodeScalars.count, r)
        continue
      }
      for s in g.unicodeScalars {
        if let r = transform(Array(String(s).utf8)) {
          modified = true
          replace(1, r)
        } else {
          dest.append((s.value, 0))
        }
      }
    }
    if modified { n.transform(dest) }
  }
}

extension NormalizedText {
  /// HF's `NormalizedString::transform` over the whole text: each (scalar, change) replaces
  /// one scalar (0), replaces it and removes −change more (< 0), or is inserted (> 0, aligned
  /// like the byte before it).
  mutating func transform(_ dest: [(UInt32, Int)]) {
    var lens = [Int]()
    bytes.withUnsafeBufferPointer { p in
      var i = 0
      while i < p.count {
        let l = decodeScalar(p, i).1
        lens.append(l)
        i += l
      }
    }
    var nb = [UInt8]()
    var ns = [Int32]()
    var ne = [Int32]()
    var offset = 0
    var next = 0
    let first = (starts.first ?? 0, starts.first ?? 0)
    for (c, change) in dest {
      let align: (Int32, Int32)
      if change > 0 {
        align = offset < 1 ? first : (starts[offset - 1], ends[offset - 1])
      } else {
        align = offset < starts.count ? (starts[offset], ends[offset]) : first
        if next < lens.count {
          offset += lens[next]
          next += 1
        }
        if change < 0 {
          for _ in 0..<(-change) where next < lens.count {
            offset += lens[next]
            next += 1
          }
        }
      }
      appendScalar(c, &nb) {
        ns.append(align.0)
        ne.append(align.1)
      }
    }
    bytes = nb
    starts = ns
    ends = ne
  }
}
