/// The output of a tokenizer for one input (single or pair), as HF's `Encoding`.
public struct Encoding: Equatable, Sendable {
  public var ids: [UInt32] = []
  public var typeIds: [UInt32] = []
  public var tokens: [String] = []
  /// Character (Unicode scalar) offsets into the input each token came from.
  public var offsets: [Range<Int>] = []
  /// UTF-8 byte offsets into the input.
  public var byteOffsets: [Range<Int>] = []
  public var specialTokensMask: [UInt32] = []
  public var attentionMask: [UInt32] = []
  /// Which input (0 or 1) each token came from; nil for added special tokens.
  public var sequenceIds: [Int?] = []
  /// Index of the pre-tokenized word each token came from, counted per sequence (HF's
  /// `word_ids`); nil for special and padding tokens.
  public var wordIds: [Int?] = []
  public var overflowing: [Encoding] = []

  public init() {}

  mutating func reserve(_ n: Int) {
    ids.reserveCapacity(n); typeIds.reserveCapacity(n); tokens.reserveCapacity(n)
    offsets.reserveCapacity(n); byteOffsets.reserveCapacity(n); specialTokensMask.reserveCapacity(n)
    attentionMask.reserveCapacity(n); sequenceIds.reserveCapacity(n); wordIds.reserveCapacity(n)
  }
  public var count: Int { ids.count }

  mutating func append(
    id: UInt32, token: String, offset: Range<Int>, byteOffset: Range<Int>, typeId: UInt32,
    special: Bool, sequence: Int?, word: Int?
  ) {
    ids.append(id)
    tokens.append(token)
    offsets.append(offset)
    byteOffsets.append(byteOffset)
    typeIds.append(typeId)
    specialTokensMask.append(special ? 1 : 0)
    attentionMask.append(1)
    sequenceIds.append(sequence)
    wordIds.append(word)
  }

  func slice(_ r: Range<Int>) -> Encoding {
    var e = Encoding()
    e.ids = Array(ids[r])
    e.typeIds = Array(typeIds[r])
    e.tokens = Array(tokens[r])
    e.offsets = Array(offsets[r])
    e.byteOffsets = Array(byteOffsets[r])
    e.specialTokensMask = Array(specialTokensMask[r])
    e.attentionMask = Array(attentionMask[r])
    e.sequenceIds = Array(sequenceIds[r])
    e.wordIds = Array(wordIds[r])
    return e
  }

  /// Concatenates `other` (its overflowing parts combined as HF's `merge_with` does).
  mutating func merge(with other: Encoding) {
    var over = [Encoding]()
    for o in overflowing {
      var a = o
      a.overflowing = []
      a.appendTokens(other)
      over.append(a)
      for oo in other.overflowing {
        var b = o
        b.overflowing = []
        b.appendTokens(oo)
        over.append(b)
      }
    }
    for oo in other.overflowing {
      var c = self
      c.overflowing = []
      c.appendTokens(oo)
      over.append(c)
    }
    appendTokens(other)
    overflowing = over
  }

  private mutating func appendTokens(_ o: Encoding) {
    ids += o.ids
    typeIds += o.typeIds
    tokens += o.tokens
    offsets += o.offsets
    byteOffsets += o.byteOffsets
    specialTokensMask += o.specialTokensMask
    attentionMask += o.attentionMask
    sequenceIds += o.sequenceIds
    wordIds += o.wordIds
  }

  /// Cuts to `maxLength` tokens; the rest goes to `overflowing` in windows overlapping by `stride`.
  public mutating func truncate(_ maxLength: Int, stride: Int = 0, left: Bool = false) throws {
    let n = ids.count
    if maxLength >= n { return }
    if maxLength == 0 {
      let whole = self
      self = Encoding()
      overflowing = [whole]
      return
    }
    guard stride < maxLength else {
      throw TokenizerError.invalidArgument(
        "truncation: stride \(stride) must be smaller than the \(maxLength) tokens left for this sequence"
      )
    }
    let step = maxLength - stride
    var ranges = [Range<Int>]()
    if !left {
      var start = 0
      while true {
        let stop = min(start + maxLength, n)
        ranges.append(start..<stop)
        if stop >= n { break }
        start += step
      }
    } else {
      var stop = n
      while true {
        let start = max(stop - maxLength, 0)
        ranges.append(start..<stop)
        if start == 0 { break }
        stop -= step
      }
    }
    var main = slice(ranges[0])
    main.overflowing = ranges.dropFirst().map { slice($0) }
    self = main
  }

  /// Pads to `length` with `padId` (and its overflowing parts too).
  public mutating func pad(
    to length: Int, padId: UInt32, padTypeId: UInt32, padToken: String, left: Bool
  ) {
    for i in overflowing.indices {
      overflowing[i].pad(
        to: length, padId: padId, padTypeId: padTypeId, padToken: padToken, left: left)
    }
    let k = length - ids.count
    if k <= 0 { return }
    func put<T>(_ a: inout [T], _ v: T) {
      if left {
        a.insert(contentsOf: repeatElement(v, count: k), at: 0)
      } else {
        a.append(contentsOf: repeatElement(v, count: k))
      }
    }
    put(&ids, padId)
    put(&typeIds, padTypeId)
    put(&tokens, padToken)
    put(&offsets, 0..<0)
    put(&byteOffsets, 0..<0)
    put(&specialTokensMask, 1)
    put(&attentionMask, 0)
    put(&sequenceIds, nil)
    put(&wordIds, nil)
  }
}
