import Foundation

/// Fast non-cryptographic hash of a byte range (never 0, so 0 can mark empty slots).
@inline(__always)
func hashBytes(_ p: UnsafeRawPointer, _ n: Int) -> UInt64 {
  var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
  var i = 0
  while i + 8 <= n {
    let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
    h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
    h ^= h >> 32
    i += 8
  }
  if i < n {
    var w: UInt64 = 0
    var s: UInt64 = 0
    while i < n {
      w |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << s
      s += 8
      i += 1
    }
    h = (h ^ w) &* 0xC4CE_B9FE_1A85_EC53
  }
  h ^= h >> 29
  h = h &* 0x9E37_79B9_7F4A_7C15
  h ^= h >> 32
  return h | 1
}

@inline(__always)
func mix64(_ x: UInt64) -> UInt64 {
  var h = x &* 0x9E37_79B9_7F4A_7C15
  h ^= h >> 31
  h = h &* 0xBF58_476D_1CE4_E5B9
  h ^= h >> 29
  return h
}

/// Open-addressing map from byte strings to an Int, keys kept in one arena.
struct BytesMap {
  private(set) var hashes: [UInt64]
  private(set) var keyStart: [Int]
  private(set) var keyLen: [Int32]
  var values: [Int]
  private(set) var arena: [UInt8] = []
  private(set) var count = 0
  private var mask: Int

  init(capacity: Int = 1024) {
    var cap = 16
    while cap < capacity * 2 { cap <<= 1 }
    hashes = [UInt64](repeating: 0, count: cap)
    keyStart = [Int](repeating: 0, count: cap)
    keyLen = [Int32](repeating: 0, count: cap)
    values = [Int](repeating: 0, count: cap)
    mask = cap - 1
  }

  /// Slot holding the key, or nil.
  @inline(__always)
  func find(_ p: UnsafeRawPointer, _ n: Int, hash h: UInt64) -> Int? {
    var s = Int(truncatingIfNeeded: h) & mask
    return hashes.withUnsafeBufferPointer { hb in
      arena.withUnsafeBufferPointer { ab in
        while true {
          let hs = hb[s]
          if hs == 0 { return nil }
          if hs == h && Int(keyLen[s]) == n && memcmp(ab.baseAddress! + keyStart[s], p, n) == 0 {
            return s
          }
          s = (s + 1) & mask
        }
      }
    }
  }

  /// Slot for the key, inserting it with value `initial` when absent.
  @inline(__always)
  mutating func slot(_ p: UnsafeRawPointer, _ n: Int, hash h: UInt64, initial: Int) -> Int {
    if let s = find(p, n, hash: h) { return s }
    if (count + 1) * 2 > hashes.count { grow() }
    var s = Int(truncatingIfNeeded: h) & mask
    while hashes[s] != 0 { s = (s + 1) & mask }
    hashes[s] = h
    keyStart[s] = arena.count
    keyLen[s] = Int32(n)
    arena.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
    values[s] = initial
    count += 1
    return s
  }

  func key(at s: Int) -> ArraySlice<UInt8> {
    arena[keyStart[s]..<(keyStart[s] + Int(keyLen[s]))]
  }

  var occupiedSlots: [Int] { (0..<hashes.count).filter { hashes[$0] != 0 } }

  private mutating func grow() {
    let old = self
    self = BytesMap(capacity: old.hashes.count)
    arena.reserveCapacity(old.arena.count)
    for s in 0..<old.hashes.count where old.hashes[s] != 0 {
      old.arena.withUnsafeBufferPointer { ab in
        let slot = self.slot(
          ab.baseAddress! + old.keyStart[s], Int(old.keyLen[s]), hash: old.hashes[s],
          initial: old.values[s])
        _ = slot
      }
    }
  }
}

/// Open-addressing map from a packed id pair to a packed value (e.g. rank << 32 | new id).
struct PairMap {
  private var keys: [UInt64]
  private var vals: [UInt64]
  private var mask: Int
  private(set) var count = 0
  static let empty = UInt64.max

  init(capacity: Int) {
    var cap = 16
    while cap < capacity * 2 { cap <<= 1 }
    keys = [UInt64](repeating: PairMap.empty, count: cap)
    vals = [UInt64](repeating: 0, count: cap)
    mask = cap - 1
  }

  @inline(__always)
  static func key(_ a: UInt32, _ b: UInt32) -> UInt64 { UInt64(a) << 32 | UInt64(b) }

  @inline(__always)
  func get(_ k: UInt64) -> UInt64? {
    var s = Int(truncatingIfNeeded: mix64(k)) & mask
    while true {
      let kk = keys[s]
      if kk == k { return vals[s] }
      if kk == PairMap.empty { return nil }
      s = (s + 1) & mask
    }
  }

  var allKeys: [UInt64] { keys.filter { $0 != PairMap.empty } }

  mutating func set(_ k: UInt64, _ v: UInt64) {
    if (count + 1) * 2 > keys.count {
      var bigger = PairMap(capacity: keys.count)
      for i in 0..<keys.count where keys[i] != PairMap.empty { bigger.set(keys[i], vals[i]) }
      self = bigger
    }
    var s = Int(truncatingIfNeeded: mix64(k)) & mask
    while true {
      if keys[s] == k {
        vals[s] = v
        return
      }
      if keys[s] == PairMap.empty {
        keys[s] = k
        vals[s] = v
        count += 1
        return
      }
      s = (s + 1) & mask
    }
  }
}
