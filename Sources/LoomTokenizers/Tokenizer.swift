import Foundation

public enum TruncationStrategy: String, Sendable {
  case longestFirst = "LongestFirst"
  case onlyFirst = "OnlyFirst"
  case onlySecond = "OnlySecond"
}

public struct Truncation: Sendable {
  public var maxLength: Int
  public var stride = 0
  public var strategy = TruncationStrategy.longestFirst
  public var left = false
  public init(
    maxLength: Int, stride: Int = 0, strategy: TruncationStrategy = .longestFirst,
    left: Bool = false
  ) {
    self.maxLength = maxLength
    self.stride = stride
    self.strategy = strategy
    self.left = left
  }
}

public struct Padding: Sendable {
  /// nil: pad to the longest in the batch; else to this fixed length.
  public var length: Int?
  public var left = false
  public var padToMultipleOf: Int?
  public var padId: UInt32 = 0
  public var padTypeId: UInt32 = 0
  public var padToken = "[PAD]"
  public init(
    length: Int? = nil, left: Bool = false, padToMultipleOf: Int? = nil, padId: UInt32 = 0,
    padTypeId: UInt32 = 0, padToken: String = "[PAD]"
  ) {
    self.length = length
    self.left = left
    self.padToMultipleOf = padToMultipleOf
    self.padId = padId
    self.padTypeId = padTypeId
    self.padToken = padToken
  }
}

/// A full tokenization pipeline, as HF's `Tokenizer`:
/// added tokens -> normalizer -> pre-tokenizer -> model -> post-processor (+ truncation, padding).
public final class Tokenizer: @unchecked Sendable {
  public var normalizer: Normalizer?
  public var preTokenizer: PreTokenizer? { didSet { refreshFlags() } }
  public let model: Model
  public var postProcessor: PostProcessor?
  public var decoder: Decoder?
  public var truncation: Truncation?
  public var padding: Padding?
  /// The named special tokens (tokenizer_config.json / special_tokens_map.json).
  public var specialTokens = SpecialTokens()
  /// tokenizer_config.json's model_max_length (nil: none given).
  public var modelMaxLength: Int?
  /// tokenizer_config.json's tokenizer_class, e.g. "BertTokenizer", "RobertaTokenizer".
  public var tokenizerClass: String?
  /// Other tokenizer_config.json keys written back as read (do_lower_case, add_prefix_space…).
  var configExtras: [String: JSONValue] = [:]
  public private(set) var addedTokens: [AddedToken] = []
  private var matcher = AddedMatcher([])
  private var addedById: [UInt32: Int] = [:]
  private var byteLevel = false
  private var prefixSpace = false
  private let lock = NSLock()
  private var pool: [EncodeWorker] = []

  public init(model: Model) { self.model = model }

  /// True when the pre-tokenizer is byte-level (GPT-2, RoBERTa): "Ġ" marks a leading space.
  public var isByteLevel: Bool { byteLevel }

  private func refreshFlags() {
    byteLevel = preTokenizer?.isByteLevel ?? false
    prefixSpace = preTokenizer?.changesText ?? false
  }

  /// Registers tokens matched before the model; ones missing from the vocabulary get new ids.
  public func addTokens(_ tokens: [AddedToken]) {
    for var t in tokens {
      if let i = addedTokens.firstIndex(where: { $0.content == t.content }) {
        addedTokens[i].special = addedTokens[i].special || t.special
        continue
      }
      if let id = model.id(of: t.content) {
        t.id = id
      } else if t.id == UInt32.max {
        let next = max(model.vocabSize, (addedTokens.map { Int($0.id) }.max() ?? -1) + 1)
        // Ids past the largest a file may name (2^32 − 2) cannot be given out: skip the token.
        guard next <= maxTokenId else { continue }
        t.id = UInt32(next)
      }
      addedTokens.append(t)
    }
    matcher = AddedMatcher(addedTokens)
    addedById = Dictionary(
      addedTokens.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
  }

  public func addSpecialTokens(_ contents: [String]) {
    addTokens(contents.map { AddedToken(content: $0, id: UInt32.max, special: true) })
  }

  public func tokenToId(_ token: String) -> UInt32? {
    addedTokens.first { $0.content == token }?.id ?? model.id(of: token)
  }

  public func idToToken(_ id: UInt32) -> String? {
    if let i = addedById[id] { return addedTokens[i].content }
    return model.token(of: id)
  }

  public var vocabSize: Int {
    model.vocabSize + addedTokens.filter { model.id(of: $0.content) == nil }.count
  }

  // MARK: workers

  private func takeWorker() -> EncodeWorker {
    lock.lock()
    defer { lock.unlock() }
    return pool.popLast() ?? EncodeWorker()
  }

  private func giveBack(_ w: consuming EncodeWorker) {
    lock.lock()
    pool.append(w)
    lock.unlock()
  }

  // MARK: encoding

  /// Encodes one sequence into tokens with offsets (no special tokens, no truncation).
  func encodeSequence(_ text: String, sequence: Int, typeId: UInt32, worker w: inout EncodeWorker)
    -> Encoding
  {
    let bytes = Array(text.utf8)
    var enc = Encoding()
    enc.reserve(bytes.count / 3 + 4)
    // Byte -> character index, only needed for non-ASCII text.
    let charAt: [Int32]? = {
      guard bytes.contains(where: { $0 >= 0x80 }) else { return nil }
      var t = [Int32](repeating: 0, count: bytes.count + 1)
      var c: Int32 = 0
      for (i, b) in bytes.enumerated() {
        t[i] = c
        if b & 0xC0 != 0x80 { c += 1 }
      }
      t[bytes.count] = c
      return t
    }()
    func chars(_ r: Range<Int>) -> Range<Int> {
      guard let t = charAt else { return r }
      // t[i] counts characters starting before i: a start inside a character rounds down,
      // an end inside one rounds up (byte-level tokens may split a character).
      let lo =
        r.lowerBound < bytes.count && bytes[r.lowerBound] & 0xC0 == 0x80
        ? t[r.lowerBound] - 1 : t[r.lowerBound]
      return Int(lo)..<max(Int(lo), Int(t[r.upperBound]))
    }
    // Words are the non-empty pieces after added-token extraction and pre-tokenization.
    var word = 0
    for (range, tok) in matcher.split(bytes) {
      if let tok {
        let t = addedTokens[tok]
        enc.append(
          id: t.id, token: t.content, offset: chars(range), byteOffset: range, typeId: typeId,
          special: false, sequence: sequence, word: word)
        word += 1
        continue
      }
      var nt: NormalizedText
      // Identity: offsets are positions in `bytes` itself (no alignment arrays needed).
      let identity = normalizer == nil && !prefixSpace
      if identity {
        nt = NormalizedText(bytes: bytes, starts: [], ends: [])
      } else {
        nt = NormalizedText(
          text.utf8[
            text.utf8.index(
              text.utf8.startIndex, offsetBy: range.lowerBound)..<text.utf8.index(
                text.utf8.startIndex, offsetBy: range.upperBound)], base: range.lowerBound)
        normalizer?.apply(&nt)
      }
      var pieces = identity ? [(range.lowerBound, range.upperBound)] : [(0, nt.bytes.count)]
      let surfaceId = model.surfaceId
      preTokenizer?.split(&nt, &pieces, segmentStart: range.lowerBound)
      nt.bytes.withUnsafeBufferPointer { p in
        for (s, e) in pieces where e > s {
          let off = w.encodePiece(
            model, UnsafeBufferPointer(rebasing: p[s..<e]), byteLevel: byteLevel)
          let arena = w.arena
          let n = Int(arena[off])
          var pos = s
          var br = pos..<pos
          for k in 0..<n {
            let id = arena[off + 1 + k]
            let len = Int(Int32(bitPattern: arena[off + 1 + n + k]))
            if id == Unigram.missingUnk {
              if w.unknownSpan == nil { w.unknownSpan = String(decoding: p[pos..<(pos + len)], as: UTF8.self) }
              pos += len
              continue
            }
            // Length 0: a byte-fallback token sharing the previous token's span.
            if len > 0 {
              br = identity ? pos..<(pos + len) : Int(nt.starts[pos])..<Int(nt.ends[pos + len - 1])
            }
            let token =
              id == surfaceId
              ? String(decoding: p[pos..<(pos + len)], as: UTF8.self) : model.token(of: id) ?? ""
            pos += len
            enc.append(
              id: id, token: token, offset: chars(br), byteOffset: br,
              typeId: typeId, special: false, sequence: sequence, word: word)
          }
          word += 1
        }
      }
    }
    return enc
  }

  /// Only the ids of raw UTF-8 bytes (invalid sequences are kept as bytes): the fast path.
  public func encodeIds(bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
    var w = takeWorker()
    defer { giveBack(w) }
    if normalizer != nil || prefixSpace {
      out +=
        encodeSequence(String(decoding: bytes, as: UTF8.self), sequence: 0, typeId: 0, worker: &w)
        .ids
      return
    }
    let segments = matcher.isEmpty ? [(0..<bytes.count, nil)] : matcher.split(Array(bytes))
    let gpt2 = {
      if case .byteLevel(_, true, _)? = preTokenizer { return true }
      return false
    }()
    var pieces = [(Int, Int)]()
    var arr = [UInt8]()
    for (range, tok) in segments {
      if let tok {
        out.append(addedTokens[tok].id)
        continue
      }
      pieces.removeAll(keepingCapacity: true)
      if gpt2 {
        w.ends.removeAll(keepingCapacity: true)
        gpt2Split(bytes, range.lowerBound, range.upperBound, into: &w.ends)
        var a = range.lowerBound
        for b in w.ends {
          pieces.append((a, b))
          a = b
        }
      } else {
        pieces.append((range.lowerBound, range.upperBound))
        if let pt = preTokenizer {
          if arr.isEmpty { arr = Array(bytes) }
          pt.split(arr, &pieces)
        }
      }
      for (s, e) in pieces where e > s {
        let off = w.encodePiece(
          model, UnsafeBufferPointer(rebasing: bytes[s..<e]), byteLevel: byteLevel)
        let n = Int(w.arena[off])
        for id in w.arena[(off + 1)..<(off + 1 + n)] where id != Unigram.missingUnk { out.append(id) }
      }
    }
  }

  public func encodeIds(_ text: String) -> [UInt32] {
    var out = [UInt32]()
    var t = text
    t.withUTF8 { encodeIds(bytes: $0, into: &out) }
    return out
  }

  /// Encodes a single input or a pair, with special tokens, truncation and padding.
  public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) throws
    -> Encoding
  {
    var e = try encodeUnpadded(
      text, pair: pair, addSpecialTokens: addSpecialTokens, truncation: truncation)
    if let p = padding { pad(&e, to: p.length ?? e.count, p) }
    return e
  }

  func encodeUnpadded(
    _ text: String, pair: String?, addSpecialTokens: Bool, truncation: Truncation?
  ) throws -> Encoding {
    var w = takeWorker()
    w.unknownSpan = nil
    defer { giveBack(w) }
    var a = encodeSequence(text, sequence: 0, typeId: 0, worker: &w)
    var b = pair.map { encodeSequence($0, sequence: 1, typeId: 1, worker: &w) }
    if let span = w.unknownSpan {
      // HF tokenizers' Unigram: "Encountered an unknown token but `unk_id` is missing".
      throw TokenizerError.invalidArgument(
        "the Unigram model has no unk_id, and \"\(span)\" is not in its vocabulary (nor are all its bytes as <0xNN> pieces); set model.unk_id in tokenizer.json or enable byte_fallback")
    }
    if let t = truncation { try truncate(&a, &b, t, addSpecialTokens: addSpecialTokens) }
    if let pp = postProcessor { return pp.process(a, b, addSpecialTokens: addSpecialTokens) }
    if let b { a.merge(with: b) }
    return a
  }

  private func truncate(
    _ a: inout Encoding, _ b: inout Encoding?, _ t: Truncation, addSpecialTokens: Bool
  ) throws {
    let added = addSpecialTokens ? (postProcessor?.addedTokens(isPair: b != nil) ?? 0) : 0
    guard t.maxLength >= added else {
      throw TokenizerError.invalidArgument(
        "max_length \(t.maxLength) is smaller than the \(added) special tokens")
    }
    let maxLen = t.maxLength - added
    let total = a.count + (b?.count ?? 0)
    if total <= maxLen { return }
    guard var bb = b else {
      try a.truncate(maxLen, stride: t.stride, left: t.left)
      return
    }
    switch t.strategy {
    case .longestFirst:
      var n1 = a.count
      var n2 = bb.count
      let swap = n1 > n2
      if swap { (n1, n2) = (n2, n1) }
      n2 = n1 > maxLen ? n1 : max(n1, maxLen - n1)
      if n1 + n2 > maxLen {
        n1 = maxLen / 2
        n2 = n1 + maxLen % 2
      }
      if swap { (n1, n2) = (n2, n1) }
      try a.truncate(n1, stride: t.stride, left: t.left)
      try bb.truncate(n2, stride: t.stride, left: t.left)
    case .onlyFirst, .onlySecond:
      let remove = total - maxLen
      if t.strategy == .onlyFirst {
        guard a.count > remove else {
          throw TokenizerError.invalidArgument(
            "truncation: first sequence too short to remove \(remove) tokens")
        }
        try a.truncate(a.count - remove, stride: t.stride, left: t.left)
      } else {
        guard bb.count > remove else {
          throw TokenizerError.invalidArgument(
            "truncation: second sequence too short to remove \(remove) tokens")
        }
        try bb.truncate(bb.count - remove, stride: t.stride, left: t.left)
      }
    }
    b = bb
  }

  func pad(_ e: inout Encoding, to length: Int, _ p: Padding) {
    var target = length
    if let m = p.padToMultipleOf, m > 0, target % m != 0 { target += m - target % m }
    e.pad(to: target, padId: p.padId, padTypeId: p.padTypeId, padToken: p.padToken, left: p.left)
  }

  /// Encodes many inputs in parallel over all cores; padding "longest" spans the batch.
  public func encodeBatch(_ inputs: [(String, String?)], addSpecialTokens: Bool = true) throws
    -> [Encoding]
  {
    try encodeBatch(
      inputs, addSpecialTokens: addSpecialTokens, truncation: truncation, padding: padding)
  }

  func encodeBatch(
    _ inputs: [(String, String?)], addSpecialTokens: Bool, truncation: Truncation?,
    padding: Padding?
  ) throws -> [Encoding] {
    var out = [Encoding](repeating: Encoding(), count: inputs.count)
    var firstError: Error?
    let errLock = NSLock()
    let chunks = min(inputs.count, ProcessInfo.processInfo.activeProcessorCount * 4)
    out.withUnsafeMutableBufferPointer { ob in
      let obp = ob
      DispatchQueue.concurrentPerform(iterations: max(chunks, 1)) { c in
        let lo = inputs.count * c / max(chunks, 1)
        let hi = inputs.count * (c + 1) / max(chunks, 1)
        for i in lo..<hi {
          do {
            obp[i] = try encodeUnpadded(
              inputs[i].0, pair: inputs[i].1, addSpecialTokens: addSpecialTokens,
              truncation: truncation)
          } catch {
            errLock.lock()
            if firstError == nil { firstError = error }
            errLock.unlock()
          }
        }
      }
    }
    if let e = firstError { throw e }
    if let p = padding {
      let longest = out.map(\.count).max() ?? 0
      for i in out.indices { pad(&out[i], to: p.length ?? longest, p) }
    }
    return out
  }

  public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true) throws -> [Encoding] {
    try encodeBatch(texts.map { ($0, nil) }, addSpecialTokens: addSpecialTokens)
  }

  // MARK: decoding

  public func decode(_ ids: [UInt32], skipSpecialTokens: Bool = true) -> String {
    var tokens = [String]()
    tokens.reserveCapacity(ids.count)
    for id in ids {
      if let i = addedById[id] {
        if skipSpecialTokens && addedTokens[i].special { continue }
        tokens.append(addedTokens[i].content)
      } else if let t = model.token(of: id) {
        tokens.append(t)
      }
    }
    guard let d = decoder else { return tokens.joined(separator: " ") }
    return d.decode(tokens)
  }

  public func decodeBatch(_ batch: [[UInt32]], skipSpecialTokens: Bool = true) -> [String] {
    var out = [String](repeating: "", count: batch.count)
    out.withUnsafeMutableBufferPointer { ob in
      let obp = ob
      DispatchQueue.concurrentPerform(iterations: batch.count) { i in
        obp[i] = decode(batch[i], skipSpecialTokens: skipSpecialTokens)
      }
    }
    return out
  }

  /// Raw bytes behind byte-level ids (lossless even for invalid UTF-8 input).
  public func decodeBytes(_ ids: [UInt32]) -> [UInt8] {
    var out = [UInt8]()
    for id in ids {
      if let i = addedById[id] {
        out += Array(addedTokens[i].content.utf8)
        continue
      }
      guard let t = model.token(of: id) else { continue }
      if let b = ByteLevel.decode(t) { out += b } else { out += Array(t.utf8) }
    }
    return out
  }
}
