/// The named special tokens of a pretrained tokenizer, as HF's `special_tokens_map`.
public struct SpecialTokens: Sendable, Equatable {
  public var bos: String?
  public var eos: String?
  public var unk: String?
  public var sep: String?
  public var pad: String?
  public var cls: String?
  public var mask: String?
  public var additional: [String] = []

  public init(
    bos: String? = nil, eos: String? = nil, unk: String? = nil, sep: String? = nil,
    pad: String? = nil, cls: String? = nil, mask: String? = nil, additional: [String] = []
  ) {
    self.bos = bos
    self.eos = eos
    self.unk = unk
    self.sep = sep
    self.pad = pad
    self.cls = cls
    self.mask = mask
    self.additional = additional
  }

  /// BERT's defaults (`BertTokenizer`).
  public static let bert = SpecialTokens(
    unk: "[UNK]", sep: "[SEP]", pad: "[PAD]", cls: "[CLS]", mask: "[MASK]")
  /// RoBERTa's defaults (`RobertaTokenizer`).
  public static let roberta = SpecialTokens(
    bos: "<s>", eos: "</s>", unk: "<unk>", sep: "</s>", pad: "<pad>", cls: "<s>", mask: "<mask>")

  /// HF's config keys with their values, in HF's order.
  var named: [(key: String, value: String?)] {
    [
      ("bos_token", bos), ("eos_token", eos), ("unk_token", unk), ("sep_token", sep),
      ("pad_token", pad), ("cls_token", cls), ("mask_token", mask),
    ]
  }

  mutating func set(_ key: String, _ value: String?) {
    switch key {
    case "bos_token": bos = value
    case "eos_token": eos = value
    case "unk_token": unk = value
    case "sep_token": sep = value
    case "pad_token": pad = value
    case "cls_token": cls = value
    case "mask_token": mask = value
    default: break
    }
  }

  /// Every named and additional token, without repeats.
  public var all: [String] {
    var seen = Set<String>()
    return (named.compactMap(\.value) + additional).filter { seen.insert($0).inserted }
  }
}

extension Tokenizer {
  public var padTokenId: UInt32? { specialTokens.pad.flatMap(tokenToId) }
  public var clsTokenId: UInt32? { specialTokens.cls.flatMap(tokenToId) }
  public var sepTokenId: UInt32? { specialTokens.sep.flatMap(tokenToId) }
  public var maskTokenId: UInt32? { specialTokens.mask.flatMap(tokenToId) }
  public var unkTokenId: UInt32? { specialTokens.unk.flatMap(tokenToId) }
  public var bosTokenId: UInt32? { specialTokens.bos.flatMap(tokenToId) }
  public var eosTokenId: UInt32? { specialTokens.eos.flatMap(tokenToId) }

  /// Ids of every named special token (what HF's `all_special_ids` lists).
  public var allSpecialIds: [UInt32] { specialTokens.all.compactMap(tokenToId) }

  /// Fills `specialTokens` from the vocabulary when no config named them: BERT's bracketed
  /// tokens or RoBERTa's angle ones, whichever the vocabulary has.
  func inferSpecialTokens() {
    let bert = SpecialTokens.bert
    let roberta = SpecialTokens.roberta
    for base in [bert, roberta]
    where tokenToId(base.unk ?? "") != nil || tokenToId(base.mask ?? "") != nil {
      for (k, v) in base.named where v.flatMap(tokenToId) != nil {
        if specialTokens.named.first(where: { $0.key == k })?.value == nil {
          specialTokens.set(k, v)
        }
      }
      return
    }
  }
}
