import Foundation
import LoomTokenizers

/// What the tokenizer map returns (HF's `tokenizer(…, truncation=True, max_length=…)`
/// keyword arguments; padding is left to the data collator).
public struct TokenizeOptions: Sendable, Hashable {
  /// Truncate to this many tokens (nil: the tokenizer's own setting).
  public var maxLength: Int?
  public var addSpecialTokens = true
  public var returnTokenTypeIds = true
  public var returnAttentionMask = true
  public var returnSpecialTokensMask = false
  public var returnOffsetsMapping = false
  /// Adds `word_ids` (−1 for special tokens): a token starts a new word unless it begins
  /// where the previous one ended — the offset rule HF's whole-word masking uses.
  public var returnWordIds = false

  public init(
    maxLength: Int? = nil, addSpecialTokens: Bool = true, returnTokenTypeIds: Bool = true,
    returnAttentionMask: Bool = true, returnSpecialTokensMask: Bool = false,
    returnOffsetsMapping: Bool = false, returnWordIds: Bool = false
  ) {
    self.maxLength = maxLength
    self.addSpecialTokens = addSpecialTokens
    self.returnTokenTypeIds = returnTokenTypeIds
    self.returnAttentionMask = returnAttentionMask
    self.returnSpecialTokensMask = returnSpecialTokensMask
    self.returnOffsetsMapping = returnOffsetsMapping
    self.returnWordIds = returnWordIds
  }

  var id: String {
    "max=\(maxLength.map(String.init) ?? "-") special=\(addSpecialTokens) tt=\(returnTokenTypeIds) am=\(returnAttentionMask) stm=\(returnSpecialTokensMask) off=\(returnOffsetsMapping) wid=\(returnWordIds)"
  }
}

extension Dataset {
  /// `dataset.map(lambda b: tokenizer(b[text], b[pair], truncation=True), batched=True)`:
  /// adds `input_ids`, `attention_mask`, `token_type_ids` (and optionally
  /// `special_tokens_mask`, `offset_mapping`) encoded in parallel over all cores. With
  /// `cacheDir` the result is cached on disk, keyed by the input rows, the tokenizer's
  /// tokenizer.json and the options, so a second run loads it instead of re-encoding.
  /// The tokenizer's truncation is set for the call and restored after (do not use the
  /// same tokenizer from another thread meanwhile).
  public func tokenize(
    _ tokenizer: Tokenizer, textColumn: String, pairColumn: String? = nil,
    options: TokenizeOptions = TokenizeOptions(), removeColumns: [String] = [],
    cacheDir: String? = nil
  ) throws -> Dataset {
    let texts = try strings(textColumn)
    let pairs = try pairColumn.map { try strings($0) }
    let cache = cacheDir.map {
      MapCache(
        directory: $0,
        functionID: "tokenize v1 \(textColumn) \(pairColumn ?? "-") \(options.id) "
          + tokenizer.jsonString())
    }
    if let cache {
      let path = cache.directory + "/" + fingerprint(cache.functionID, removeColumns) + ".loomds"
      if let d = try? Dataset.readCache(path) { return d.withCacheFile(path) }
    }
    let saved = tokenizer.truncation
    let savedPadding = tokenizer.padding
    defer {
      tokenizer.truncation = saved
      tokenizer.padding = savedPadding
    }
    if let m = options.maxLength {
      tokenizer.truncation = Truncation(maxLength: m)
    }
    tokenizer.padding = nil
    let encs = try tokenizer.encodeBatch(
      texts.indices.map { (texts[$0], pairs?[$0]) }, addSpecialTokens: options.addSpecialTokens)
    var d = try removingColumns(removeColumns)
    d = try d.addingColumn("input_ids", encs.map { .ints($0.ids.map(Int.init)) })
    if options.returnTokenTypeIds {
      d = try d.addingColumn("token_type_ids", encs.map { .ints($0.typeIds.map(Int.init)) })
    }
    if options.returnAttentionMask {
      d = try d.addingColumn("attention_mask", encs.map { .ints($0.attentionMask.map(Int.init)) })
    }
    if options.returnSpecialTokensMask {
      d = try d.addingColumn(
        "special_tokens_mask", encs.map { .ints($0.specialTokensMask.map(Int.init)) })
    }
    if options.returnOffsetsMapping {
      d = try d.addingColumn(
        "offset_mapping",
        encs.map { e in .list(e.offsets.map { .ints([$0.lowerBound, $0.upperBound]) }) })
    }
    if options.returnWordIds { d = try d.addingColumn("word_ids", encs.map { .ints(Self.wordIds($0)) }) }
    if let cache {
      let path = cache.directory + "/" + fingerprint(cache.functionID, removeColumns) + ".loomds"
      try d.writeCache(path)
      d = d.withCacheFile(path)
    }
    return d
  }
}

extension Dataset {
  /// Word index per token from the offsets (−1 for special tokens); see `returnWordIds`.
  static func wordIds(_ e: Encoding) -> [Int] {
    var out = [Int]()
    var word = -1
    var prevEnd = -1
    var prevSeq: Int? = nil
    for k in 0..<e.count {
      guard let seq = e.sequenceIds[k], e.specialTokensMask[k] == 0 else {
        out.append(-1)
        continue
      }
      let o = e.offsets[k]
      if o.lowerBound != prevEnd || seq != prevSeq { word += 1 }
      out.append(word)
      prevEnd = o.upperBound
      prevSeq = seq
    }
    return out
  }

  /// Documents for next-sentence prediction (HF's TextDatasetForNextSentencePrediction
  /// input): each non-empty row of `textColumn` is a sentence, empty rows separate
  /// documents; sentences are encoded without special tokens, in parallel.
  public func nspDocuments(_ tokenizer: Tokenizer, textColumn: String = "text") throws -> [[[Int]]] {
    let lines = try strings(textColumn).map { $0.trimmingCharacters(in: .whitespaces) }
    let encs = try tokenizer.encodeBatch(lines.filter { !$0.isEmpty }, addSpecialTokens: false)
    var docs = [[[Int]]](), doc = [[Int]](), k = 0
    for l in lines {
      if l.isEmpty {
        if !doc.isEmpty { docs.append(doc) }
        doc = []
        continue
      }
      let ids = encs[k].ids.map(Int.init)
      k += 1
      if !ids.isEmpty { doc.append(ids) }
    }
    if !doc.isEmpty { docs.append(doc) }
    return docs
  }
}
