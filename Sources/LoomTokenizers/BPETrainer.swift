import Foundation

/// Byte-level BPE training, merge for merge identical to HF's `BpeTrainer` (as driven by
/// `ByteLevelBPETokenizer.train`), including its tie-breaking and stopping rules.
public struct BPETrainer {
  public var vocabSize = 30000
  public var minFrequency = 2
  public var specialTokens: [String] = []
  /// Characters always in the alphabet; defaults to the 256 byte-level characters.
  public var initialAlphabet: [String] = ByteLevel.alphabet
  public var limitAlphabet: Int?
  public var showProgress = true

  public init(
    vocabSize: Int = 30000, minFrequency: Int = 2, specialTokens: [String] = [],
    showProgress: Bool = true
  ) {
    self.vocabSize = vocabSize
    self.minFrequency = minFrequency
    self.specialTokens = specialTokens
    self.showProgress = showProgress
  }

  public struct Result {
    /// Tokens by id.
    public var vocab: [String]
    /// Merges in rank order.
    public var merges: [(String, String)]
    public var invalidUTF8Lines: Int
    public var specialTokens: [String]
  }

  /// Rejects settings HF's trainer cannot take (its fields are unsigned).
  public func validate() throws {
    if vocabSize < 0 { throw TokenizerError.invalidArgument("vocab_size must be ≥ 0, got \(vocabSize)") }
    if minFrequency < 0 {
      throw TokenizerError.invalidArgument("min_frequency must be ≥ 0, got \(minFrequency)")
    }
    if let l = limitAlphabet, l < 0 {
      throw TokenizerError.invalidArgument("limit_alphabet must be ≥ 0, got \(l)")
    }
  }

  public func train(files: [String]) throws -> Result {
    try validate()
    let counts = try WordCounts.count(files: files, showProgress: showProgress)
    if counts.wordCount == 0 { throw TokenizerError.emptyCorpus(files) }
    var r = try train(counts)
    r.invalidUTF8Lines = counts.invalidUTF8Lines
    return r
  }

  /// A max-heap entry: highest count first, then the smallest pair.
  struct Entry {
    var count: Int64
    var pair: UInt64
    var pos: Int32  // index into the position lists
    @inline(__always) func above(_ o: Entry) -> Bool {
      count != o.count ? count > o.count : pair < o.pair
    }
  }

  func train(_ wc: WordCounts) throws -> Result {
    var idToWord = [String]()
    var wordToId = [String: UInt32]()
    func add(_ s: String) {
      if wordToId[s] == nil {
        wordToId[s] = UInt32(idToWord.count)
        idToWord.append(s)
      }
    }
    for s in specialTokens { add(s) }

    // Alphabet: byte-level characters weighted by use, plus the initial alphabet.
    let map = wc.map
    let slots = map.occupiedSlots
    var byteFreq = [Int](repeating: 0, count: 256)
    map.arena.withUnsafeBufferPointer { ab in
      for s in slots {
        let c = map.values[s]
        for k in map.keyStart[s]..<(map.keyStart[s] + Int(map.keyLen[s])) {
          byteFreq[Int(ab[k])] += c
        }
      }
    }
    var alphabet = [String: Int]()
    for b in 0..<256 where byteFreq[b] > 0 {
      alphabet[String(Unicode.Scalar(ByteLevel.byteToScalar[b])!)] = byteFreq[b]
    }
    for c in initialAlphabet { alphabet[c] = Int.max }
    var kept = Array(alphabet)
    if let limit = limitAlphabet, alphabet.count > limit {
      kept.sort { $0.value < $1.value }
      kept.removeFirst(alphabet.count - limit)
    }
    kept.sort { $0.key.unicodeScalars.first!.value < $1.key.unicodeScalars.first!.value }
    for (c, _) in kept { add(c) }
    var byteId = [UInt32](repeating: UInt32.max, count: 256)
    for b in 0..<256 {
      byteId[b] = wordToId[String(Unicode.Scalar(ByteLevel.byteToScalar[b])!)] ?? UInt32.max
    }

    // Words as symbol runs in one flat buffer; merging only shrinks a word.
    var syms = [UInt32]()
    syms.reserveCapacity(map.arena.count)
    var wStart = [Int]()
    var wLen = [Int32]()
    var wCount = [Int64]()
    map.arena.withUnsafeBufferPointer { ab in
      for s in slots {
        wStart.append(syms.count)
        for k in map.keyStart[s]..<(map.keyStart[s] + Int(map.keyLen[s])) {
          let id = byteId[Int(ab[k])]
          if id != UInt32.max { syms.append(id) }
        }
        wLen.append(Int32(syms.count - wStart[wStart.count - 1]))
        wCount.append(Int64(map.values[s]))
      }
    }

    // Pair counts and where each pair occurs.
    var pairIndex = PairMap(capacity: 1 << 16)
    var pairCount = [Int64]()
    var posLists = [[Int32]]()
    var heap = [Entry]()
    func indexOf(_ k: UInt64) -> Int {
      if let v = pairIndex.get(k) { return Int(v) }
      pairIndex.set(k, UInt64(pairCount.count))
      pairCount.append(0)
      return pairCount.count - 1
    }
    var firstPos = [Int32]()  // pair -> initial position list index
    for w in 0..<wStart.count {
      let s = wStart[w]
      let n = Int(wLen[w])
      if n < 2 { continue }
      for i in s..<(s + n - 1) {
        let k = PairMap.key(syms[i], syms[i + 1])
        let pi = indexOf(k)
        pairCount[pi] += wCount[w]
        if pi >= firstPos.count {
          firstPos.append(Int32(posLists.count))
          posLists.append([])
        }
        let li = Int(firstPos[pi])
        if posLists[li].last != Int32(w) { posLists[li].append(Int32(w)) }
      }
    }
    var pairKeys = [UInt64](repeating: 0, count: pairCount.count)
    for k in pairKeysFrom(pairIndex) { pairKeys[Int(pairIndex.get(k)!)] = k }
    for pi in 0..<pairCount.count where pairCount[pi] > 0 {
      heap.append(Entry(count: pairCount[pi], pair: pairKeys[pi], pos: firstPos[pi]))
    }
    heapify(&heap)

    // Merge loop.
    var merges = [(UInt64, UInt32)]()
    let bar = ProgressBar("Compute merges", total: vocabSize, enabled: showProgress)
    var touched = [Int: Int]()  // pair index -> position list being filled this round
    var touchedOrder = [Int]()
    while idToWord.count < vocabSize, var top = popHeap(&heap) {
      let pi = Int(pairIndex.get(top.pair)!)
      let cur = pairCount[pi]
      if top.count != cur {
        top.count = cur
        pushHeap(&heap, top)
        continue
      }
      if top.count < 1 || Int64(minFrequency) > top.count { break }
      let a = UInt32(truncatingIfNeeded: top.pair >> 32)
      let b = UInt32(truncatingIfNeeded: top.pair)
      let newToken = idToWord[Int(a)] + idToWord[Int(b)]
      let newId: UInt32
      if let e = wordToId[newToken] {
        newId = e
      } else {
        newId = UInt32(idToWord.count)
        add(newToken)
      }
      merges.append((top.pair, newId))

      touched.removeAll(keepingCapacity: true)
      touchedOrder.removeAll(keepingCapacity: true)
      @inline(__always) func change(_ x: UInt32, _ y: UInt32, _ delta: Int64, _ w: Int) {
        let k = PairMap.key(x, y)
        let p = indexOf(k)
        if p >= pairKeys.count { pairKeys.append(k) }
        pairCount[p] += delta * wCount[w]
        if delta > 0 {
          if let li = touched[p] {
            if posLists[li].last != Int32(w) { posLists[li].append(Int32(w)) }
          } else {
            touched[p] = posLists.count
            touchedOrder.append(p)
            posLists.append([Int32(w)])
          }
        }
      }
      let pos = posLists[Int(top.pos)]
      for w32 in pos {
        let w = Int(w32)
        let s = wStart[w]
        var n = Int(wLen[w])
        var i = 0
        while i < n {
          if syms[s + i] == a && i + 1 < n && syms[s + i + 1] == b {
            if i > 0 {
              let prev = syms[s + i - 1]
              change(prev, a, -1, w)
              change(prev, newId, 1, w)
            }
            syms[s + i] = newId
            if i + 2 < n { for k in (s + i + 1)..<(s + n - 1) { syms[k] = syms[k + 1] } }
            n -= 1
            if i < n - 1 {
              let next = syms[s + i + 1]
              change(b, next, -1, w)
              change(newId, next, 1, w)
            }
          }
          i += 1
        }
        wLen[w] = Int32(n)
      }
      for p in touchedOrder where pairCount[p] > 0 {
        pushHeap(&heap, Entry(count: pairCount[p], pair: pairKeys[p], pos: Int32(touched[p]!)))
      }
      bar.update(idToWord.count)
    }
    bar.finish()

    // A pair merged twice keeps its last rank, as HF's merge map does.
    var lastRank = [UInt64: Int]()
    for (r, (p, _)) in merges.enumerated() { lastRank[p] = r }
    var out = [(String, String)]()
    for (r, (p, _)) in merges.enumerated() where lastRank[p] == r {
      out.append((idToWord[Int(p >> 32)], idToWord[Int(UInt32(truncatingIfNeeded: p))]))
    }
    return Result(vocab: idToWord, merges: out, invalidUTF8Lines: 0, specialTokens: specialTokens)
  }
}

private func pairKeysFrom(_ m: PairMap) -> [UInt64] { m.allKeys }

// MARK: binary max-heap on `Entry.above`

private func heapify(_ h: inout [BPETrainer.Entry]) {
  if h.count < 2 { return }
  for i in stride(from: h.count / 2 - 1, through: 0, by: -1) { siftDown(&h, i) }
}

private func siftDown(_ h: inout [BPETrainer.Entry], _ start: Int) {
  var i = start
  let n = h.count
  let x = h[i]
  while true {
    var c = 2 * i + 1
    if c >= n { break }
    if c + 1 < n && h[c + 1].above(h[c]) { c += 1 }
    if !h[c].above(x) { break }
    h[i] = h[c]
    i = c
  }
  h[i] = x
}

private func pushHeap(_ h: inout [BPETrainer.Entry], _ e: BPETrainer.Entry) {
  h.append(e)
  var i = h.count - 1
  while i > 0 {
    let p = (i - 1) / 2
    if !e.above(h[p]) { break }
    h[i] = h[p]
    i = p
  }
  h[i] = e
}

private func popHeap(_ h: inout [BPETrainer.Entry]) -> BPETrainer.Entry? {
  guard let last = h.popLast() else { return nil }
  if h.isEmpty { return last }
  let top = h[0]
  h[0] = last
  siftDown(&h, 0)
  return top
}

extension BPETrainer.Result {
  /// Writes vocab.json and merges.txt as HF's `save_model` does.
  public func saveModel(to dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try VocabFiles.vocabJSON(vocab).write(
      toFile: dir + "/vocab.json", atomically: true, encoding: .utf8)
    try VocabFiles.mergesText(merges).write(
      toFile: dir + "/merges.txt", atomically: true, encoding: .utf8)
  }

  /// The trained tokenizer, configured as `ByteLevelBPETokenizer` leaves it.
  public func tokenizer() throws -> Tokenizer {
    var v = [String: UInt32]()
    for (i, t) in vocab.enumerated() { v[t] = UInt32(i) }
    let t = Tokenizer(model: .bpe(try BPE(vocab: v, merges: merges)))
    t.preTokenizer = .byteLevel(addPrefixSpace: false, useRegex: true, trimOffsets: true)
    t.decoder = .byteLevel
    t.postProcessor = .byteLevel(trimOffsets: false, addPrefixSpace: true)
    t.addSpecialTokens(specialTokens)
    return t
  }
}
