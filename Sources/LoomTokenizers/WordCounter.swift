import Foundation

/// Pre-tokenized word counts over a corpus, as HF's trainer `feed` computes them:
/// each line (with its ending) is split by the GPT-2 pattern and every piece counted.
public struct WordCounts {
  var map: BytesMap
  /// Lines holding invalid UTF-8 (kept as raw bytes).
  public var invalidUTF8Lines = 0
  public var bytesRead = 0
  public var wordCount: Int { map.count }

  /// Counts the words of `files` in parallel over all cores.
  public static func count(files: [String], showProgress: Bool = true) throws -> WordCounts {
    var datas = [Data]()
    for f in files {
      guard FileManager.default.fileExists(atPath: f) else { throw TokenizerError.missingFile(f) }
      datas.append(try Data(contentsOf: URL(fileURLWithPath: f), options: .alwaysMapped))
    }
    // Work items: ~1 MiB line-aligned chunks of each file.
    var chunks = [(Int, Int, Int)]()  // file, start, end
    for (fi, d) in datas.enumerated() {
      d.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        let p = raw.bindMemory(to: UInt8.self)
        var s = 0
        while s < p.count {
          var e = min(s + (1 << 20), p.count)
          while e < p.count && p[e - 1] != 0x0A { e += 1 }
          chunks.append((fi, s, e))
          s = e
        }
      }
    }
    let total = datas.reduce(0) { $0 + $1.count }
    let bar = ProgressBar("Count words", total: total, enabled: showProgress)
    let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, chunks.count))
    var partial = [WordCounts](
      repeating: WordCounts(map: BytesMap(capacity: 1 << 14)), count: threads)
    let lock = NSLock()
    var done = 0
    var nextChunk = 0
    partial.withUnsafeMutableBufferPointer { pb in
      let pbp = pb
      DispatchQueue.concurrentPerform(iterations: threads) { t in
        var local = WordCounts(map: BytesMap(capacity: 1 << 14))
        var ends = [Int]()
        while true {
          lock.lock()
          let c = nextChunk
          nextChunk += 1
          lock.unlock()
          if c >= chunks.count { break }
          let (fi, s, e) = chunks[c]
          datas[fi].withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            local.add(raw.bindMemory(to: UInt8.self), s, e, &ends)
          }
          lock.lock()
          done += e - s
          bar.update(done)
          lock.unlock()
        }
        pbp[t] = local
      }
    }
    bar.finish()
    var all = partial[0]
    for k in 1..<partial.count { all.merge(partial[k]) }
    all.bytesRead = total
    return all
  }

  /// Counts the lines of `p[s..<e]`.
  mutating func add(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ ends: inout [Int]) {
    var ls = s
    while ls < e {
      var le = ls
      var ascii = true
      while le < e && p[le] != 0x0A {
        if p[le] >= 0x80 { ascii = false }
        le += 1
      }
      if le < e { le += 1 }
      if !ascii && !isValidUTF8(p, ls, le) { invalidUTF8Lines += 1 }
      ends.removeAll(keepingCapacity: true)
      gpt2Split(p, ls, le, into: &ends)
      var a = ls
      for b in ends {
        let ptr = UnsafeRawPointer(p.baseAddress! + a)
        let slot = map.slot(ptr, b - a, hash: hashBytes(ptr, b - a), initial: 0)
        map.values[slot] += 1
        a = b
      }
      ls = le
    }
  }

  mutating func merge(_ o: WordCounts) {
    invalidUTF8Lines += o.invalidUTF8Lines
    o.map.arena.withUnsafeBufferPointer { ab in
      for s in o.map.occupiedSlots {
        let ptr = UnsafeRawPointer(ab.baseAddress! + o.map.keyStart[s])
        let slot = map.slot(ptr, Int(o.map.keyLen[s]), hash: o.map.hashes[s], initial: 0)
        map.values[slot] += o.map.values[s]
      }
    }
  }

  /// (word bytes, count) pairs.
  public var words: [([UInt8], Int)] {
    map.occupiedSlots.map { (Array(map.key(at: $0)), map.values[$0]) }
  }
}

func isValidUTF8(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
  var i = s
  let q = UnsafeBufferPointer(rebasing: p[..<e])
  while i < e {
    if q[i] < 0x80 {
      i += 1
      continue
    }
    let (v, l) = decodeScalar(q, i)
    if v == nil { return false }
    i += l
  }
  return true
}
