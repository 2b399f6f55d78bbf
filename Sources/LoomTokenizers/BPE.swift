import Foundation

/// Byte-pair-encoding model: vocabulary plus ranked merges.
public final class BPE: @unchecked Sendable {
  public let vocab: [String: UInt32]
  public let idToToken: TokenTable
  /// Merges in rank order, as (left, right) token strings.
  public let merges: [(String, String)]
  public var unkToken: String?
  public var continuingSubwordPrefix: String?
  public var endOfWordSuffix: String?
  public var fuseUnk = false
  public var byteFallback = false
  public var ignoreMerges = false
  public var dropout: Double?
  /// Prefix/suffix exactly as read ("" and nil both mean none but are written back as read).
  var savedPrefix: String?
  var savedSuffix: String?

  /// (left id, right id) -> rank << 32 | merged id.
  let mergeMap: PairMap
  /// Token id of each byte's mapped character (UInt32.max when absent).
  let byteIds: [UInt32]

  public init(vocab: [String: UInt32], merges: [(String, String)], unkToken: String? = nil) throws {
    self.vocab = vocab
    idToToken = TokenTable(vocab)
    self.merges = merges
    self.unkToken = unkToken
    var mm = PairMap(capacity: merges.count)
    for (rank, (a, b)) in merges.enumerated() {
      guard let ia = vocab[a] else { throw BadMerge.unknownToken(rank: rank, token: a) }
      guard let ib = vocab[b] else { throw BadMerge.unknownToken(rank: rank, token: b) }
      guard let im = vocab[a + b] else { throw BadMerge.unknownToken(rank: rank, token: a + b) }
      let k = PairMap.key(ia, ib)
      if mm.get(k) == nil { mm.set(k, UInt64(rank) << 32 | UInt64(im)) }
    }
    mergeMap = mm
    byteIds = ByteLevel.byteToScalar.map { vocab[String(Unicode.Scalar($0)!)] ?? UInt32.max }
  }

  public func id(of token: String) -> UInt32? { vocab[token] }
  public func token(of id: UInt32) -> String? { idToToken[id] }
  public var vocabSize: Int { vocab.count }

  /// A merge naming a token missing from the vocabulary (callers add the file and place).
  public enum BadMerge: Error, CustomStringConvertible {
    case unknownToken(rank: Int, token: String)
    public var description: String {
      switch self {
      case .unknownToken(let r, let t): return "merge \(r): token \"\(t)\" is not in the vocabulary"
      }
    }
  }

  /// Applies the merges to `ids` in place (`lens` carries symbol lengths), always merging the
  /// lowest-ranked adjacent pair, leftmost first, as HF's `Word::merge_all` does.
  @inline(__always)
  func applyMerges(_ ids: inout [UInt32], _ lens: inout [Int32]) {
    var n = ids.count
    if n < 2 { return }
    if n > 48 {
      applyMergesLong(&ids, &lens)
      return
    }
    while true {
      var bestRank = UInt64.max
      var bestPos = -1
      var bestId: UInt32 = 0
      var i = 0
      while i + 1 < n {
        if let v = mergeMap.get(PairMap.key(ids[i], ids[i + 1])) {
          let r = v >> 32
          if r < bestRank {
            bestRank = r
            bestPos = i
            bestId = UInt32(truncatingIfNeeded: v)
          }
        }
        i += 1
      }
      if bestPos < 0 { return }
      ids[bestPos] = bestId
      lens[bestPos] += lens[bestPos + 1]
      ids.remove(at: bestPos + 1)
      lens.remove(at: bestPos + 1)
      n -= 1
      if n < 2 { return }
    }
  }

  /// Same result in O(n log n) for long words: a min-heap of (rank, position) over a linked
  /// list of symbols; stale entries are skipped when popped.
  func applyMergesLong(_ ids: inout [UInt32], _ lens: inout [Int32]) {
    let n = ids.count
    var next = (0..<n).map { Int32($0 + 1) }
    var prev = (0..<n).map { Int32($0 - 1) }
    next[n - 1] = -1
    var alive = [Bool](repeating: true, count: n)
    // Heap of rank << 32 | position: smallest rank first, then leftmost.
    var heap = [UInt64]()
    func push(_ i: Int) {
      let j = Int(next[i])
      guard j >= 0, let v = mergeMap.get(PairMap.key(ids[i], ids[j])) else { return }
      heap.append((v >> 32) << 32 | UInt64(i))
      var k = heap.count - 1
      while k > 0 {
        let p = (k - 1) / 2
        if heap[p] <= heap[k] { break }
        heap.swapAt(p, k)
        k = p
      }
    }
    func pop() -> UInt64? {
      guard let last = heap.popLast() else { return nil }
      if heap.isEmpty { return last }
      let top = heap[0]
      heap[0] = last
      var k = 0
      while true {
        var c = 2 * k + 1
        if c >= heap.count { break }
        if c + 1 < heap.count && heap[c + 1] < heap[c] { c += 1 }
        if heap[k] <= heap[c] { break }
        heap.swapAt(k, c)
        k = c
      }
      return top
    }
    for i in 0..<(n - 1) { push(i) }
    while let e = pop() {
      let i = Int(e & 0xFFFF_FFFF)
      let rank = e >> 32
      guard alive[i], next[i] >= 0 else { continue }
      let j = Int(next[i])
      guard let v = mergeMap.get(PairMap.key(ids[i], ids[j])), v >> 32 == rank else { continue }
      ids[i] = UInt32(truncatingIfNeeded: v)
      lens[i] += lens[j]
      alive[j] = false
      next[i] = next[j]
      if next[j] >= 0 { prev[Int(next[j])] = Int32(i) }
      if prev[i] >= 0 { push(Int(prev[i])) }
      push(i)
    }
    var w = 0
    for i in 0..<n where alive[i] {
      ids[w] = ids[i]
      lens[w] = lens[i]
      w += 1
    }
    ids.removeLast(n - w)
    lens.removeLast(n - w)
  }

  /// Encodes one pre-token given as raw bytes. `byteLevel`: the bytes stand for their
  /// GPT-2 mapped characters; otherwise symbols are the UTF-8 characters themselves.
  func encodeWord(
    _ p: UnsafeBufferPointer<UInt8>, byteLevel: Bool, ids: inout [UInt32], lens: inout [Int32]
  ) {
    ids.removeAll(keepingCapacity: true)
    lens.removeAll(keepingCapacity: true)
    if byteLevel && continuingSubwordPrefix == nil && endOfWordSuffix == nil {
      for b in p {
        let id = byteIds[Int(b)]
        if id != UInt32.max {
          ids.append(id)
          lens.append(1)
        } else {
          appendUnk(&ids, &lens, 1)
        }
      }
    } else {
      var i = 0
      while i < p.count {
        let (_, l0) = decodeScalar(p, i)
        let l = byteLevel ? 1 : l0
        var s =
          byteLevel
          ? ByteLevel.encode(p[i..<(i + 1)])
          : String(decoding: UnsafeBufferPointer(rebasing: p[i..<(i + l)]), as: UTF8.self)
        if i > 0, let pre = continuingSubwordPrefix { s = pre + s }
        if i + l == p.count, let suf = endOfWordSuffix { s += suf }
        if let id = vocab[s] {
          ids.append(id)
          lens.append(Int32(l))
        } else if byteFallback, !byteLevel {
          for k in i..<(i + l) {
            let hex = "<0x" + String(format: "%02X", p[k]) + ">"
            if let id = vocab[hex] {
              ids.append(id)
              lens.append(1)
            } else {
              appendUnk(&ids, &lens, 1)
            }
          }
        } else {
          appendUnk(&ids, &lens, Int32(l))
        }
        i += l
      }
    }
    if ignoreMerges, byteLevel, let whole = vocab[ByteLevel.encode(p)] {
      ids = [whole]
      lens = [Int32(p.count)]
      return
    }
    applyMerges(&ids, &lens)
  }

  private var unkId: UInt32? { unkToken.flatMap { vocab[$0] } }

  @inline(__always)
  private func appendUnk(_ ids: inout [UInt32], _ lens: inout [Int32], _ l: Int32) {
    guard let u = unkId else { return }  // HF drops unknown symbols when no unk token is set
    if fuseUnk, let last = ids.last, last == u {
      lens[lens.count - 1] += l
      return
    }
    ids.append(u)
    lens.append(l)
  }
}
