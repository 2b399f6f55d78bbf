/// The tokenization model proper.
public enum Model {
  case bpe(BPE)
  case wordPiece(WordPiece)
  case unigram(Unigram)

  public func id(of token: String) -> UInt32? {
    switch self {
    case .bpe(let m): return m.vocab[token]
    case .wordPiece(let m): return m.vocab[token]
    case .unigram(let m): return m.vocab[token]
    }
  }

  public func token(of id: UInt32) -> String? {
    switch self {
    case .bpe(let m): return m.idToToken[id]
    case .wordPiece(let m): return m.idToToken[id]
    case .unigram(let m): return m.token(of: id)
    }
  }

  public var vocabSize: Int {
    switch self {
    case .bpe(let m): return m.vocab.count
    case .wordPiece(let m): return m.vocab.count
    case .unigram(let m): return m.vocabSize
    }
  }

  /// Id whose token text is the input it covers (Unigram's unknown spans, as in HF).
  var surfaceId: UInt32? {
    if case .unigram(let m) = self { return m.unkId.map { UInt32($0) } }
    return nil
  }

  @inline(__always)
  func encodeWord(
    _ p: UnsafeBufferPointer<UInt8>, byteLevel: Bool, ids: inout [UInt32], lens: inout [Int32]
  ) {
    switch self {
    case .bpe(let m): m.encodeWord(p, byteLevel: byteLevel, ids: &ids, lens: &lens)
    case .wordPiece(let m): m.encodeWord(p, ids: &ids, lens: &lens)
    case .unigram(let m): m.encodeWord(p, ids: &ids, lens: &lens)
    }
  }
}

/// Per-thread scratch state: the word cache and buffers. A struct passed `inout`, so the hot
/// loop pays no dynamic exclusivity checks (a class's stored properties would).
struct EncodeWorker {
  var cache = BytesMap(capacity: 4096)
  /// Cached results: [n, ids..., lens...] at the offset stored in the cache.
  var arena = [UInt32]()
  var ids = [UInt32]()
  var lens = [Int32]()
  var ends = [Int]()
  /// The first span a Unigram model without unk_id could not encode, if any.
  var unknownSpan: String?
  static let maxCachedWords = 1 << 20

  /// Encodes one piece through the cache; returns the arena offset of its result.
  @inline(__always)
  mutating func encodePiece(_ model: Model, _ p: UnsafeBufferPointer<UInt8>, byteLevel: Bool) -> Int {
    let h = hashBytes(p.baseAddress!, p.count)
    if let s = cache.find(p.baseAddress!, p.count, hash: h) { return cache.values[s] }
    model.encodeWord(p, byteLevel: byteLevel, ids: &ids, lens: &lens)
    if cache.count >= EncodeWorker.maxCachedWords {
      cache = BytesMap(capacity: 4096)
      arena.removeAll(keepingCapacity: true)
    }
    let off = arena.count
    arena.append(UInt32(ids.count))
    arena.append(contentsOf: ids)
    for l in lens { arena.append(UInt32(bitPattern: l)) }
    let s = cache.slot(p.baseAddress!, p.count, hash: h, initial: off)
    cache.values[s] = off
    return off
  }
}
