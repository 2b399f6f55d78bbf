import Foundation

/// Tokenized text on disk: a flat token file (uint16 when the vocabulary fits, else uint32)
/// plus an index of sequence offsets, memory-mapped for reading.
public final class TokenFile: @unchecked Sendable {
  public let tokenPath: String
  public let bytesPerToken: Int
  private let tokens: Data
  /// Sequence i spans tokens offsets[i]..<offsets[i+1].
  public let offsets: [Int]

  public init(tokenPath: String, indexPath: String, bytesPerToken: Int) throws {
    self.tokenPath = tokenPath
    self.bytesPerToken = bytesPerToken
    guard bytesPerToken == 2 || bytesPerToken == 4 else {
      throw TokenizerError.invalidArgument("bytes per token must be 2 or 4, got \(bytesPerToken)")
    }
    tokens = try Data(contentsOf: URL(fileURLWithPath: tokenPath), options: .alwaysMapped)
    guard tokens.count % bytesPerToken == 0 else {
      throw TokenizerError.malformed(
        file: tokenPath, place: "size",
        reason: "\(tokens.count) bytes is not a whole number of \(bytesPerToken)-byte tokens")
    }
    let idx = try Data(contentsOf: URL(fileURLWithPath: indexPath))
    guard idx.count % 8 == 0, idx.count >= 8 else {
      throw TokenizerError.malformed(
        file: indexPath, place: "size",
        reason: "expected whole 8-byte offsets, got \(idx.count) bytes")
    }
    // Every offset checked before use: reads go through these, unchecked.
    var offs = [Int]()
    offs.reserveCapacity(idx.count / 8)
    var bad: (Int, UInt64)?
    idx.withUnsafeBytes { raw in
      var prev = 0
      for i in 0..<(raw.count / 8) {
        let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
        guard let o = Int(exactly: v), o >= prev, i > 0 || o == 0 else {
          bad = (i, v)
          return
        }
        offs.append(o)
        prev = o
      }
    }
    if let (i, v) = bad {
      throw TokenizerError.malformed(
        file: indexPath, place: "offset \(i)",
        reason: "\(v) is not a non-decreasing offset starting at 0")
    }
    offsets = offs
    guard offsets.last == tokens.count / bytesPerToken else {
      throw TokenizerError.malformed(
        file: indexPath, place: "last offset",
        reason: "does not match the \(tokens.count / bytesPerToken) tokens of \(tokenPath)")
    }
  }

  public var sequenceCount: Int { offsets.count - 1 }
  public var tokenCount: Int { offsets.last ?? 0 }

  /// Token at a flat position.
  @inline(__always)
  public func token(at i: Int) -> UInt32 {
    tokens.withUnsafeBytes { raw in
      bytesPerToken == 2
        ? UInt32(UInt16(littleEndian: raw.load(fromByteOffset: i * 2, as: UInt16.self)))
        : UInt32(littleEndian: raw.load(fromByteOffset: i * 4, as: UInt32.self))
    }
  }

  public func tokens(_ r: Range<Int>) -> [UInt32] { r.map { token(at: $0) } }
  public func sequence(_ i: Int) -> [UInt32] { tokens(offsets[i]..<offsets[i + 1]) }

  /// Causal-LM block at a flat position: `length` inputs and the same shifted by one as targets.
  public func block(at start: Int, length: Int) -> (input: [UInt32], target: [UInt32]) {
    let t = tokens(start..<(start + length + 1))
    return (Array(t.dropLast()), Array(t.dropFirst()))
  }

  /// `count` blocks at random positions drawn from `rng` (nanoGPT-style batches).
  public func randomBlocks(count: Int, length: Int, rng: inout SplitMix64) -> [(
    input: [UInt32], target: [UInt32]
  )] {
    precondition(tokenCount > length, "need more than \(length) tokens")
    return (0..<count).map { _ in
      block(at: Int(rng.next() % UInt64(tokenCount - length)), length: length)
    }
  }

  /// Consecutive non-overlapping blocks, for evaluation sweeps.
  public func blockStarts(length: Int) -> StrideTo<Int> {
    stride(from: 0, to: max(tokenCount - length, 0), by: length)
  }

  /// Sequences `indices` padded (right) or cut to `maxLength`, with attention masks (MLM, classification).
  public func paddedBatch(_ indices: [Int], maxLength: Int, padId: UInt32) -> (
    ids: [[UInt32]], attentionMask: [[UInt32]]
  ) {
    var ids = [[UInt32]]()
    var mask = [[UInt32]]()
    for i in indices {
      var s = sequence(i)
      if s.count > maxLength { s.removeLast(s.count - maxLength) }
      let pad = maxLength - s.count
      mask.append([UInt32](repeating: 1, count: s.count) + [UInt32](repeating: 0, count: pad))
      ids.append(s + [UInt32](repeating: padId, count: pad))
    }
    return (ids, mask)
  }
}

/// A small seeded generator (SplitMix64) so shuffles and batches are reproducible.
public struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Text files -> shuffled train/validation token files, cached on disk by a key over the
/// inputs (paths, sizes, modification times), the tokenizer and the options.
public struct TokenDataset {
  public enum Unit: String { case lines, documents }

  public var files: [String]
  public var unit = Unit.lines
  public var trainFraction = 0.9
  public var seed: UInt64 = 1337
  public var showProgress = true

  public init(
    files: [String], unit: Unit = .lines, trainFraction: Double = 0.9, seed: UInt64 = 1337
  ) {
    self.files = files
    self.unit = unit
    self.trainFraction = trainFraction
    self.seed = seed
  }

  public struct Built {
    public let train: TokenFile
    public let validation: TokenFile
    public let directory: String
    /// True when an earlier run's files were reused.
    public let reused: Bool
  }

  func cacheKey(_ tok: Tokenizer) throws -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    func mix(_ s: String) {
      for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
      h = (h ^ 0xFF) &* 0x100_0000_01B3
    }
    for f in files {
      guard let a = try? FileManager.default.attributesOfItem(atPath: f) else {
        throw TokenizerError.missingFile(f)
      }
      mix(f)
      mix("\(a[.size] ?? 0)")
      mix("\((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)")
    }
    mix(tok.jsonString())
    mix(unit.rawValue)
    mix("\(trainFraction)")
    mix("\(seed)")
    return String(format: "%016llx", h)
  }

  /// Builds (or reuses) the token files under `cacheDir/<key>/`.
  public func build(tokenizer tok: Tokenizer, cacheDir: String) throws -> Built {
    let key = try cacheKey(tok)
    let dir = cacheDir + "/" + key
    let bpt = tok.vocabSize <= 65536 ? 2 : 4
    let fm = FileManager.default
    func open(_ reused: Bool) throws -> Built {
      Built(
        train: try TokenFile(
          tokenPath: dir + "/train.bin", indexPath: dir + "/train.idx", bytesPerToken: bpt),
        validation: try TokenFile(
          tokenPath: dir + "/val.bin", indexPath: dir + "/val.idx", bytesPerToken: bpt),
        directory: dir, reused: reused)
    }
    if fm.fileExists(atPath: dir + "/meta.json") { return try open(true) }

    // Units of text, as raw bytes.
    var units = [[UInt8]]()
    for f in files {
      guard fm.fileExists(atPath: f) else { throw TokenizerError.missingFile(f) }
      let d = try Data(contentsOf: URL(fileURLWithPath: f))
      if unit == .documents {
        units.append(Array(d))
        continue
      }
      for l in d.split(separator: 0x0A) where !l.isEmpty { units.append(Array(l)) }
    }
    if units.isEmpty { throw TokenizerError.emptyCorpus(files) }
    var rng = SplitMix64(seed: seed)
    units.shuffle(using: &rng)
    let nTrain = Int((Double(units.count) * trainFraction).rounded())

    // Tokenize in parallel.
    var ids = [[UInt32]](repeating: [], count: units.count)
    let bar = ProgressBar("Tokenize", total: units.count, enabled: showProgress)
    let lock = NSLock()
    var done = 0
    let chunks = min(units.count, ProcessInfo.processInfo.activeProcessorCount * 8)
    ids.withUnsafeMutableBufferPointer { ib in
      let ibp = ib
      DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let lo = units.count * c / chunks
        let hi = units.count * (c + 1) / chunks
        for i in lo..<hi {
          var out = [UInt32]()
          units[i].withUnsafeBufferPointer { tok.encodeIds(bytes: $0, into: &out) }
          ibp[i] = out
        }
        lock.lock()
        done += hi - lo
        bar.update(done)
        lock.unlock()
      }
    }
    bar.finish()

    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for (name, range) in [("train", 0..<nTrain), ("val", nTrain..<units.count)] {
      var data = Data()
      var index = [UInt64(0)]
      for i in range {
        for t in ids[i] {
          if bpt == 2 {
            var v = UInt16(t).littleEndian
            withUnsafeBytes(of: &v) { data.append(contentsOf: $0) }
          } else {
            var v = t.littleEndian
            withUnsafeBytes(of: &v) { data.append(contentsOf: $0) }
          }
        }
        index.append(index.last! + UInt64(ids[i].count))
      }
      try data.write(to: URL(fileURLWithPath: dir + "/\(name).bin"))
      try index.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: dir + "/\(name).idx"))
    }
    let meta =
      "{\"key\":\"\(key)\",\"bytes_per_token\":\(bpt),\"vocab_size\":\(tok.vocabSize),\"unit\":\"\(unit.rawValue)\",\"train_sequences\":\(nTrain),\"val_sequences\":\(units.count - nTrain)}\n"
    // meta.json last: its presence marks a complete build.
    try meta.write(toFile: dir + "/meta.json", atomically: true, encoding: .utf8)
    return try open(false)
  }
}
