/// HF's `padding=` argument.
public enum PaddingStrategy: Sendable {
  case doNotPad
  /// To the longest row of the batch.
  case longest
  /// To `maxLength` (or the tokenizer's `modelMaxLength`).
  case maxLength
}

/// What `tokenizer(texts, …)` returns in HF: one `Encoding` per row, rows from overflowing
/// windows included when asked for, with the input each row came from.
public struct BatchEncoding: Sendable, Equatable {
  public var encodings: [Encoding]
  /// Row -> index of the input it came from (HF's `overflow_to_sample_mapping`).
  public var overflowToSampleMapping: [Int]

  public var count: Int { encodings.count }
  public subscript(i: Int) -> Encoding { encodings[i] }

  public var inputIds: [[Int]] { encodings.map { $0.ids.map(Int.init) } }
  public var attentionMask: [[Int]] { encodings.map { $0.attentionMask.map(Int.init) } }
  public var tokenTypeIds: [[Int]] { encodings.map { $0.typeIds.map(Int.init) } }
  public var specialTokensMask: [[Int]] { encodings.map { $0.specialTokensMask.map(Int.init) } }
  /// Character offsets (start, end) of each token in its own input text; (0, 0) for specials.
  public var offsetMapping: [[(Int, Int)]] {
    encodings.map { $0.offsets.map { ($0.lowerBound, $0.upperBound) } }
  }
  /// HF's `word_ids(i)`.
  public func wordIds(_ i: Int) -> [Int?] { encodings[i].wordIds }
  /// HF's `sequence_ids(i)`: 0, 1 or nil (special and padding tokens).
  public func sequenceIds(_ i: Int) -> [Int?] { encodings[i].sequenceIds }
}

extension Tokenizer {
  /// HF's `tokenizer(text, text_pair, …)` for a batch: truncation (nil: none) to `maxLength`
  /// (default `modelMaxLength`) with `stride`, padding, overflowing windows as extra rows.
  /// Does not touch the tokenizer's own `truncation`/`padding` (safe across threads).
  public func callAsFunction(
    _ texts: [String], pairs: [String]? = nil, addSpecialTokens: Bool = true,
    padding: PaddingStrategy = .doNotPad, truncation: TruncationStrategy? = nil,
    maxLength: Int? = nil, stride: Int = 0, padToMultipleOf: Int? = nil,
    paddingLeft: Bool = false, truncationLeft: Bool = false, returnOverflowingTokens: Bool = false
  ) throws -> BatchEncoding {
    if let pairs, pairs.count != texts.count {
      throw TokenizerError.invalidArgument(
        "\(texts.count) texts but \(pairs.count) text pairs; give one pair per text")
    }
    for (name, v) in [("max_length", maxLength), ("pad_to_multiple_of", padToMultipleOf)] {
      if let v, v < 0 { throw TokenizerError.invalidArgument("\(name) must be ≥ 0, got \(v)") }
    }
    guard stride >= 0 else {
      throw TokenizerError.invalidArgument("stride must be ≥ 0, got \(stride)")
    }
    let limit = maxLength ?? modelMaxLength
    var trunc: Truncation?
    if let truncation, let limit {
      trunc = Truncation(
        maxLength: limit, stride: stride, strategy: truncation, left: truncationLeft)
    }
    var pad: Padding?
    switch padding {
    case .doNotPad: pad = nil
    case .longest: pad = Padding()
    case .maxLength:
      guard let limit else {
        throw TokenizerError.invalidArgument(
          "padding to max_length needs max_length (the tokenizer has no model_max_length)")
      }
      pad = Padding(length: limit)
    }
    if var p = pad {
      guard let id = padTokenId else {
        throw TokenizerError.invalidArgument(
          "padding needs a pad token; this tokenizer has none (set specialTokens.pad)")
      }
      p.padId = id
      p.padToken = specialTokens.pad ?? ""
      p.padToMultipleOf = padToMultipleOf
      p.left = paddingLeft
      pad = p
    }
    let inputs = texts.enumerated().map { ($1, pairs?[$0]) }
    let encs = try encodeBatch(
      inputs, addSpecialTokens: addSpecialTokens, truncation: trunc, padding: pad)
    var rows = [Encoding]()
    var mapping = [Int]()
    for (i, e) in encs.enumerated() {
      var main = e
      main.overflowing = []
      rows.append(main)
      mapping.append(i)
      guard returnOverflowingTokens else { continue }
      for var o in e.overflowing {
        o.overflowing = []
        rows.append(o)
        mapping.append(i)
      }
    }
    return BatchEncoding(encodings: rows, overflowToSampleMapping: mapping)
  }

  /// One text (and pair): rows are the encoding and, when asked for, its overflowing windows.
  public func callAsFunction(
    _ text: String, pair: String? = nil, addSpecialTokens: Bool = true,
    padding: PaddingStrategy = .doNotPad, truncation: TruncationStrategy? = nil,
    maxLength: Int? = nil, stride: Int = 0, returnOverflowingTokens: Bool = false
  ) throws -> BatchEncoding {
    try self(
      [text], pairs: pair.map { [$0] }, addSpecialTokens: addSpecialTokens, padding: padding,
      truncation: truncation, maxLength: maxLength, stride: stride,
      returnOverflowingTokens: returnOverflowingTokens)
  }
}

extension Tokenizer {
  /// HF's `tokenizer.pad(features)`: pads already-encoded rows (a collator's batch) to the
  /// longest row or to `maxLength`, with this tokenizer's pad token (masks, type ids too).
  public func pad(
    _ rows: [Encoding], padding: PaddingStrategy = .longest, maxLength: Int? = nil,
    padToMultipleOf: Int? = nil, left: Bool = false
  ) throws -> [Encoding] {
    if padding == .doNotPad { return rows }
    guard let id = padTokenId else {
      throw TokenizerError.invalidArgument(
        "padding needs a pad token; this tokenizer has none (set specialTokens.pad)")
    }
    var target = rows.map(\.count).max() ?? 0
    if padding == .maxLength {
      guard let m = maxLength ?? modelMaxLength else {
        throw TokenizerError.invalidArgument("padding to max_length needs max_length")
      }
      target = m
    }
    if let m = padToMultipleOf, m > 0, target % m != 0 { target += m - target % m }
    return rows.map {
      var e = $0
      e.pad(to: target, padId: id, padTypeId: 0, padToken: specialTokens.pad ?? "", left: left)
      return e
    }
  }
}

extension Tokenizer {
  /// HF's `build_inputs_with_special_tokens` with masks: wraps already-tokenized ids (one
  /// sequence or a pair) in the post-processor's special tokens (`[CLS] A [SEP] B [SEP]`,
  /// `<s> A </s></s> B </s>`), with type ids, special-tokens mask and sequence ids. Word ids
  /// and offsets are unknown here (nil and 0..<0).
  public func withSpecialTokens(_ a: [UInt32], pair b: [UInt32]? = nil) -> Encoding {
    func enc(_ ids: [UInt32], _ seq: Int) -> Encoding {
      var e = Encoding()
      e.reserve(ids.count)
      for id in ids {
        e.append(
          id: id, token: idToToken(id) ?? "", offset: 0..<0, byteOffset: 0..<0,
          typeId: UInt32(seq), special: false, sequence: seq, word: nil)
      }
      return e
    }
    let ea = enc(a, 0)
    let eb = b.map { enc($0, 1) }
    if let pp = postProcessor {
      // Offsets are all empty, so byte-level trimming has nothing to do.
      return pp.process(ea, eb, addSpecialTokens: true)
    }
    var r = ea
    if let eb { r.merge(with: eb) }
    return r
  }
}
