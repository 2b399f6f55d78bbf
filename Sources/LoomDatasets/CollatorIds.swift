import LoomTokenizers

/// The plain ids LoomTrain's collators take, read from a tokenizer (HF's `pad_token_id`,
/// `mask_token_id`, `cls_token_id`, `sep_token_id`, `all_special_ids`, `len(tokenizer)`), for
/// BERT's `[PAD] [MASK] [CLS] [SEP]` or RoBERTa's `<pad> <mask> <s> </s>`.
public struct CollatorIds: Sendable, Equatable {
  public let padTokenId: Int
  public let maskTokenId: Int?
  public let clsTokenId: Int?
  public let sepTokenId: Int?
  public let vocabSize: Int
  /// Every special added token (never masked).
  public let specialTokenIds: Set<Int>
  /// The ids that continue the previous token's word, for whole-word masking: WordPiece's
  /// "##…" pieces, or for a byte-level BPE (RoBERTa) every non-special token without a
  /// leading "Ġ" (a space), as HF's offsets group them.
  public let continuationTokenIds: Set<Int>

  public init(_ t: Tokenizer) throws {
    func id(_ names: [String]) -> Int? { names.lazy.compactMap { t.tokenToId($0) }.first.map(Int.init) }
    guard let pad = id(["[PAD]", "<pad>"]) ?? t.padding.map({ Int($0.padId) }) else {
      throw DatasetError("the tokenizer has no padding token ([PAD] or <pad>); add one to pad batches")
    }
    padTokenId = pad
    maskTokenId = id(["[MASK]", "<mask>"])
    clsTokenId = id(["[CLS]", "<s>"])
    sepTokenId = id(["[SEP]", "</s>"])
    vocabSize = t.vocabSize
    specialTokenIds = Set(t.addedTokens.filter(\.special).map { Int($0.id) })
    var cont = Set<Int>()
    for i in 0..<t.vocabSize {
      guard let s = t.idToToken(UInt32(i)) else { continue }
      if t.isByteLevel {
        if !s.hasPrefix("Ġ") && !specialTokenIds.contains(i) { cont.insert(i) }
      } else if s.utf8.starts(with: [35, 35]), s.unicodeScalars.count > 2 {
        // By scalars: "##" + a combining mark is one Character.
        cont.insert(i)
      }
    }
    continuationTokenIds = cont
  }

  /// The mask token id, or an error saying masked-LM needs one.
  public func requireMask() throws -> Int {
    guard let m = maskTokenId else {
      throw DatasetError("the tokenizer has no mask token ([MASK] or <mask>); masked-LM training needs one")
    }
    return m
  }
}
