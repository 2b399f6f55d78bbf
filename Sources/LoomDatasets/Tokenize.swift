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

  public init(
    maxLength: Int? = nil, addSpecialTokens: Bool = true, returnTokenTypeIds: Bool = true,
    returnAttentionMask: Bool = true, returnSpecialTokensMask: Bool = false,
    returnOffsetsMapping: Bool = false
  ) {
    self.maxLength = maxLength
    self.addSpecialTokens = addSpecialTokens
    self.returnTokenTypeIds = returnTokenTypeIds
    self.returnAttentionMask = returnAttentionMask
    self.returnSpecialTokensMask = returnSpecialTokensMask
    self.returnOffsetsMapping = returnOffsetsMapping
  }

  var id: String {
    "max=\(maxLength.map(String.init) ?? "-") special=\(addSpecialTokens) tt=\(returnTokenTypeIds) am=\(returnAttentionMask) stm=\(returnSpecialTokensMask) off=\(returnOffsetsMapping)"
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
    if let cache {
      let path = cache.directory + "/" + fingerprint(cache.functionID, removeColumns) + ".loomds"
      try d.writeCache(path)
      d = d.withCacheFile(path)
    }
    return d
  }
}
