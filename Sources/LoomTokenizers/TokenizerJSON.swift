import Foundation

/// tokenizer.json (HF format) reading and writing.
extension Tokenizer {
  /// Loads a tokenizer.json; errors name the file and the JSON path at fault.
  public static func load(tokenizerJSON path: String) throws -> Tokenizer {
    let root = try VocabFiles.parseJSON(try VocabFiles.readData(path), file: path)
    return try TokenizerJSONReader(file: path).tokenizer(root)
  }

  /// Loads a tokenizer.json, or a directory with tokenizer.json, vocab.json + merges.txt,
  /// GPT-2's encoder.json + vocab.bpe (what `scripts/fetch-assets.sh` fetches) or a
  /// WordPiece vocab.txt. GPT-2's encoder.json itself is accepted beside its vocab.bpe.
  public static func load(path: String) throws -> Tokenizer {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
      throw TokenizerError.missingFile(path)
    }
    if !isDir.boolValue {
      let url = URL(fileURLWithPath: path)
      let bpe = url.deletingLastPathComponent().appendingPathComponent("vocab.bpe").path
      if url.lastPathComponent == "encoder.json", FileManager.default.fileExists(atPath: bpe) {
        return try gpt2(encoder: path, merges: bpe)
      }
      return try load(tokenizerJSON: path)
    }
    let tj = path + "/tokenizer.json"
    if FileManager.default.fileExists(atPath: tj) { return try load(tokenizerJSON: tj) }
    let vj = path + "/vocab.json"
    let mt = path + "/merges.txt"
    if FileManager.default.fileExists(atPath: vj) { return try byteLevelBPE(vocab: vj, merges: mt) }
    let ej = path + "/encoder.json"
    if FileManager.default.fileExists(atPath: ej) {
      return try gpt2(encoder: ej, merges: path + "/vocab.bpe")
    }
    if FileManager.default.fileExists(atPath: path + "/vocab.txt") {
      let t = Tokenizer(
        model: .wordPiece(WordPiece(vocab: try WordPiece.vocab(fromFile: path + "/vocab.txt"))))
      t.normalizer = .bert(
        cleanText: true, handleChineseChars: true, stripAccents: nil, lowercase: true)
      t.preTokenizer = .bert
      t.decoder = .wordPiece(prefix: "##", cleanup: true)
      if let c = t.model.id(of: "[CLS]"), let s = t.model.id(of: "[SEP]") {
        t.postProcessor = .bert(sep: ("[SEP]", s), cls: ("[CLS]", c))
      }
      t.addSpecialTokens(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].filter { t.model.id(of: $0) != nil })
      return t
    }
    throw TokenizerError.missingFile(
      tj + " (or vocab.json + merges.txt, encoder.json + vocab.bpe, vocab.txt)")
  }

  /// The tokenizer.json text (pretty, as HF's `save(path, pretty=True)`).
  public func jsonString() -> String { TokenizerJSONWriter.value(self).pretty() }

  public func save(_ path: String) throws {
    try jsonString().write(toFile: path, atomically: true, encoding: .utf8)
  }
}

/// Largest token id a file may name (HF's u32 less Loom's "no id" marker).
let maxTokenId = Int(UInt32.max) - 1
/// Largest max_length, stride or padding a file may ask for (1M tokens: a bound on what one
/// encoding allocates, far above any model's context).
let maxSequenceLength = 1 << 20

struct TokenizerJSONReader {
  let file: String

  func fail(_ place: String, _ why: String) -> TokenizerError {
    .malformed(file: file, place: place, reason: why)
  }

  func obj(_ x: Any?, _ place: String) throws -> [String: Any] {
    guard let d = x as? [String: Any] else { throw fail(place, "expected an object") }
    return d
  }

  func str(_ d: [String: Any], _ k: String, _ place: String) throws -> String {
    guard let s = d[k] as? String else { throw fail(place + "." + k, "expected a string") }
    return s
  }

  func bool(_ d: [String: Any], _ k: String, _ def: Bool) -> Bool {
    (d[k] as? NSNumber)?.boolValue ?? def
  }
  func optStr(_ d: [String: Any], _ k: String) -> String? { d[k] as? String }

  /// A whole number in `range`, checked before any conversion (NSNumber's intValue wraps).
  func int(_ x: Any?, _ place: String, _ range: ClosedRange<Int>) throws -> Int {
    guard let n = x as? NSNumber, let v = Int(exactly: n.doubleValue.rounded(.towardZero)),
      Double(v) == n.doubleValue, range.contains(v)
    else {
      throw fail(
        place,
        "expected an integer in \(range.lowerBound)...\(range.upperBound), got \(x.map { "\($0)" } ?? "nothing")"
      )
    }
    return v
  }

  func optInt(_ d: [String: Any], _ k: String, _ place: String, _ range: ClosedRange<Int>)
    throws -> Int?
  {
    guard let x = d[k], !(x is NSNull) else { return nil }
    return try int(x, place + "." + k, range)
  }

  /// Token ids: 0 ..< 2^32 − 1 (HF's u32; the top value is kept as Loom's "no id" marker).
  func tokenId(_ x: Any?, _ place: String) throws -> UInt32 {
    UInt32(try int(x, place, 0...maxTokenId))
  }

  func tokenizer(_ root: Any) throws -> Tokenizer {
    let d = try obj(root, "top level")
    guard d["model"] != nil else { throw fail("model", "missing") }
    let t = Tokenizer(model: try model(try obj(d["model"], "model")))
    if let n = d["normalizer"], !(n is NSNull) {
      t.normalizer = try normalizer(try obj(n, "normalizer"), "normalizer")
    }
    if let p = d["pre_tokenizer"], !(p is NSNull) {
      t.preTokenizer = try preTokenizer(try obj(p, "pre_tokenizer"), "pre_tokenizer")
    }
    if let p = d["post_processor"], !(p is NSNull) {
      t.postProcessor = try postProcessor(try obj(p, "post_processor"), "post_processor")
    }
    if let p = d["decoder"], !(p is NSNull) {
      t.decoder = try decoder(try obj(p, "decoder"), "decoder")
    }
    var added = [AddedToken]()
    for (i, a) in (d["added_tokens"] as? [Any] ?? []).enumerated() {
      let place = "added_tokens[\(i)]"
      let o = try obj(a, place)
      let id = try tokenId(o["id"], place + ".id")
      added.append(
        AddedToken(
          content: try str(o, "content", place), id: id, special: bool(o, "special", false),
          singleWord: bool(o, "single_word", false), lstrip: bool(o, "lstrip", false),
          rstrip: bool(o, "rstrip", false),
          normalized: bool(o, "normalized", false)))
    }
    t.addTokens(added)
    if let tr = d["truncation"] as? [String: Any] {
      t.truncation = Truncation(
        maxLength: try optInt(tr, "max_length", "truncation", 0...maxSequenceLength) ?? 512,
        stride: try optInt(tr, "stride", "truncation", 0...maxSequenceLength) ?? 0,
        strategy: TruncationStrategy(rawValue: tr["strategy"] as? String ?? "") ?? .longestFirst,
        left: (tr["direction"] as? String) == "Left")
    }
    if let pd = d["padding"] as? [String: Any] {
      var p = Padding(
        left: (pd["direction"] as? String) == "Left",
        padToMultipleOf: try optInt(pd, "pad_to_multiple_of", "padding", 0...maxSequenceLength),
        padId: UInt32(try optInt(pd, "pad_id", "padding", 0...maxTokenId) ?? 0),
        padTypeId: UInt32(try optInt(pd, "pad_type_id", "padding", 0...maxTokenId) ?? 0),
        padToken: pd["pad_token"] as? String ?? "[PAD]")
      if let s = pd["strategy"] as? [String: Any] {
        p.length = try optInt(s, "Fixed", "padding.strategy", 0...maxSequenceLength)
      }
      t.padding = p
    }
    return t
  }

  func model(_ m: [String: Any]) throws -> Model {
    let type =
      m["type"] as? String
      ?? (m["merges"] != nil
        ? "BPE"
        : (m["max_input_chars_per_word"] != nil
          ? "WordPiece" : (m["vocab"] is [Any] ? "Unigram" : "")))
    if type == "Unigram" { return .unigram(try unigram(m)) }
    guard let vraw = m["vocab"] as? [String: Any] else {
      throw fail("model.vocab", "expected an object mapping tokens to ids")
    }
    var vocab = [String: UInt32]()
    vocab.reserveCapacity(vraw.count)
    for (k, x) in vraw { vocab[k] = try tokenId(x, "model.vocab[\"\(k)\"]") }
    switch type {
    case "BPE":
      var merges = [(String, String)]()
      for (i, x) in (m["merges"] as? [Any] ?? []).enumerated() {
        if let s = x as? String {
          let parts = s.split(separator: " ", omittingEmptySubsequences: false)
          guard parts.count == 2 else {
            throw fail("model.merges[\(i)]", "expected \"left right\", got \"\(s)\"")
          }
          merges.append((String(parts[0]), String(parts[1])))
        } else if let a = x as? [String], a.count == 2 {
          merges.append((a[0], a[1]))
        } else {
          throw fail("model.merges[\(i)]", "expected a pair of tokens")
        }
      }
      let bpe: BPE
      do { bpe = try BPE(vocab: vocab, merges: merges, unkToken: optStr(m, "unk_token")) } catch BPE
        .BadMerge.unknownToken(let rank, let token)
      {
        throw fail("model.merges[\(rank)]", "refers to \"\(token)\", which is not in model.vocab")
      }
      bpe.continuingSubwordPrefix = optStr(m, "continuing_subword_prefix").flatMap {
        $0.isEmpty ? nil : $0
      }
      bpe.endOfWordSuffix = optStr(m, "end_of_word_suffix").flatMap { $0.isEmpty ? nil : $0 }
      bpe.savedPrefix = optStr(m, "continuing_subword_prefix")
      bpe.savedSuffix = optStr(m, "end_of_word_suffix")
      bpe.fuseUnk = bool(m, "fuse_unk", false)
      bpe.byteFallback = bool(m, "byte_fallback", false)
      bpe.ignoreMerges = bool(m, "ignore_merges", false)
      bpe.dropout = (m["dropout"] as? NSNumber)?.doubleValue
      return .bpe(bpe)
    case "WordPiece":
      return .wordPiece(
        WordPiece(
          vocab: vocab, unkToken: optStr(m, "unk_token") ?? "[UNK]",
          continuingSubwordPrefix: optStr(m, "continuing_subword_prefix") ?? "##",
          maxInputCharsPerWord: try optInt(
            m, "max_input_chars_per_word", "model", 0...Int(Int32.max))
            ?? 100))
    default:
      throw fail(
        "model.type", "unknown model type \"\(type)\" (supported: BPE, WordPiece, Unigram)")
    }
  }

  func normalizer(_ d: [String: Any], _ place: String) throws -> Normalizer {
    let type = try str(d, "type", place)
    switch type {
    case "BertNormalizer":
      return .bert(
        cleanText: bool(d, "clean_text", true),
        handleChineseChars: bool(d, "handle_chinese_chars", true),
        stripAccents: (d["strip_accents"] as? NSNumber)?.boolValue,
        lowercase: bool(d, "lowercase", true))
    case "NFC": return .nfc
    case "NFKC": return .nfkc
    case "NFD": return .nfd
    case "NFKD": return .nfkd
    case "Lowercase": return .lowercase
    case "StripAccents": return .stripAccents
    case "Precompiled": return try precompiled(d, place)
    case "Nmt": return .nmt
    case "Replace":
      return .replace(
        pattern: try pattern(d["pattern"], place + ".pattern"),
        content: try str(d, "content", place))
    case "Strip":
      return .strip(left: bool(d, "strip_left", true), right: bool(d, "strip_right", true))
    case "Prepend": return .prepend(try str(d, "prepend", place))
    case "Sequence":
      let xs = d["normalizers"] as? [Any] ?? []
      return .sequence(
        try xs.enumerated().map {
          try normalizer(try obj($1, "\(place).normalizers[\($0)]"), "\(place).normalizers[\($0)]")
        })
    default: throw fail(place + ".type", "unsupported normalizer \"\(type)\"")
    }
  }

  func preTokenizer(_ d: [String: Any], _ place: String) throws -> PreTokenizer {
    let type = try str(d, "type", place)
    switch type {
    case "ByteLevel":
      return .byteLevel(
        addPrefixSpace: bool(d, "add_prefix_space", true), useRegex: bool(d, "use_regex", true),
        trimOffsets: bool(d, "trim_offsets", true))
    case "BertPreTokenizer": return .bert
    case "Whitespace": return .whitespace
    case "WhitespaceSplit": return .whitespaceSplit
    case "Split":
      let pattern = try self.pattern(d["pattern"], place + ".pattern")
      guard let b = SplitBehavior(rawValue: d["behavior"] as? String ?? "") else {
        throw fail(place + ".behavior", "unknown split behavior")
      }
      return .split(pattern: pattern, behavior: b, invert: bool(d, "invert", false))
    case "Metaspace": return .metaspace(try metaspace(d, place))
    case "Sequence":
      let xs = d["pretokenizers"] as? [Any] ?? []
      return .sequence(
        try xs.enumerated().map {
          try preTokenizer(
            try obj($1, "\(place).pretokenizers[\($0)]"), "\(place).pretokenizers[\($0)]")
        })
    default: throw fail(place + ".type", "unsupported pre-tokenizer \"\(type)\"")
    }
  }

  func tokenPair(_ x: Any?, _ place: String) throws -> (String, UInt32) {
    guard let a = x as? [Any], a.count == 2, let s = a[0] as? String else {
      throw fail(place, "expected [token, id]")
    }
    return (s, try tokenId(a[1], place + "[1]"))
  }

  func postProcessor(_ d: [String: Any], _ place: String) throws -> PostProcessor {
    let type = try str(d, "type", place)
    switch type {
    case "ByteLevel":
      return .byteLevel(
        trimOffsets: bool(d, "trim_offsets", true),
        addPrefixSpace: bool(d, "add_prefix_space", true))
    case "RobertaProcessing":
      return .roberta(
        sep: try tokenPair(d["sep"], place + ".sep"), cls: try tokenPair(d["cls"], place + ".cls"),
        trimOffsets: bool(d, "trim_offsets", true),
        addPrefixSpace: bool(d, "add_prefix_space", true))
    case "BertProcessing":
      return .bert(
        sep: try tokenPair(d["sep"], place + ".sep"), cls: try tokenPair(d["cls"], place + ".cls"))
    case "TemplateProcessing":
      func pieces(_ k: String) throws -> [TemplatePiece] {
        try (d[k] as? [Any] ?? []).enumerated().map { i, x in
          let o = try obj(x, "\(place).\(k)[\(i)]")
          let here = "\(place).\(k)[\(i)]"
          if let s = o["SpecialToken"] as? [String: Any] {
            return .special(
              id: try str(s, "id", here),
              typeId: UInt32(try optInt(s, "type_id", here, 0...maxTokenId) ?? 0))
          }
          if let s = o["Sequence"] as? [String: Any] {
            let id = try str(s, "id", here)
            guard id == "A" || id == "B" else {
              throw fail(here + ".Sequence.id", "expected \"A\" or \"B\", got \"\(id)\"")
            }
            return .sequence(
              id: id, typeId: UInt32(try optInt(s, "type_id", here, 0...maxTokenId) ?? 0))
          }
          throw fail("\(place).\(k)[\(i)]", "expected SpecialToken or Sequence")
        }
      }
      var specials = [String: (ids: [UInt32], tokens: [String])]()
      for (k, v) in d["special_tokens"] as? [String: Any] ?? [:] {
        let here = "\(place).special_tokens.\(k)"
        let o = try obj(v, here)
        guard let rawIds = o["ids"] as? [Any] else {
          throw fail(here + ".ids", "expected an array of ids")
        }
        let ids = try rawIds.enumerated().map { try tokenId($1, "\(here).ids[\($0)]") }
        guard let toks = o["tokens"] as? [String] else {
          throw fail(here + ".tokens", "expected an array of strings")
        }
        guard toks.count == ids.count else {
          throw fail(here, "\(ids.count) ids but \(toks.count) tokens; they must pair up")
        }
        specials[k] = (ids, toks)
      }
      return .template(single: try pieces("single"), pair: try pieces("pair"), specials: specials)
    default: throw fail(place + ".type", "unsupported post-processor \"\(type)\"")
    }
  }

  func decoder(_ d: [String: Any], _ place: String) throws -> Decoder {
    let type = try str(d, "type", place)
    switch type {
    case "ByteLevel": return .byteLevel
    case "WordPiece":
      return .wordPiece(prefix: d["prefix"] as? String ?? "##", cleanup: bool(d, "cleanup", true))
    case "Metaspace": return .metaspace(try metaspace(d, place))
    case "ByteFallback": return .byteFallback
    case "Fuse": return .fuse
    case "Strip":
      return .strip(
        content: try char(d, "content", place),
        start: try optInt(d, "start", place, 0...Int(Int32.max)) ?? 0,
        stop: try optInt(d, "stop", place, 0...Int(Int32.max)) ?? 0)
    case "Replace":
      return .replace(
        pattern: try pattern(d["pattern"], place + ".pattern"),
        content: try str(d, "content", place))
    case "Sequence":
      let xs = d["decoders"] as? [Any] ?? []
      return .sequence(
        try xs.enumerated().map {
          try decoder(try obj($1, "\(place).decoders[\($0)]"), "\(place).decoders[\($0)]")
        })
    default: throw fail(place + ".type", "unsupported decoder \"\(type)\"")
    }
  }
}

enum TokenizerJSONWriter {
  static func value(_ t: Tokenizer) -> JSONValue {
    var kv: [(String, JSONValue)] = [("version", .string("1.0"))]
    if let tr = t.truncation {
      kv.append(
        (
          "truncation",
          .object([
            ("direction", .string(tr.left ? "Left" : "Right")), ("max_length", .int(tr.maxLength)),
            ("strategy", .string(tr.strategy.rawValue)), ("stride", .int(tr.stride)),
          ])
        ))
    } else {
      kv.append(("truncation", .null))
    }
    if let p = t.padding {
      kv.append(
        (
          "padding",
          .object([
            (
              "strategy", p.length.map { .object([("Fixed", .int($0))]) } ?? .string("BatchLongest")
            ),
            ("direction", .string(p.left ? "Left" : "Right")),
            ("pad_to_multiple_of", p.padToMultipleOf.map { .int($0) } ?? .null),
            ("pad_id", .int(Int(p.padId))), ("pad_type_id", .int(Int(p.padTypeId))),
            ("pad_token", .string(p.padToken)),
          ])
        ))
    } else {
      kv.append(("padding", .null))
    }
    kv.append(
      (
        "added_tokens",
        .array(
          t.addedTokens.map { a in
            .object([
              ("id", .int(Int(a.id))), ("content", .string(a.content)),
              ("single_word", .bool(a.singleWord)),
              ("lstrip", .bool(a.lstrip)), ("rstrip", .bool(a.rstrip)),
              ("normalized", .bool(a.normalized)), ("special", .bool(a.special)),
            ])
          })
      ))
    kv.append(("normalizer", t.normalizer.map(normalizer) ?? .null))
    kv.append(("pre_tokenizer", t.preTokenizer.map(preTokenizer) ?? .null))
    kv.append(("post_processor", t.postProcessor.map(postProcessor) ?? .null))
    kv.append(("decoder", t.decoder.map(decoder) ?? .null))
    kv.append(("model", model(t.model)))
    return .object(kv)
  }

  static func normalizer(_ n: Normalizer) -> JSONValue {
    switch n {
    case .bert(let c, let h, let s, let l):
      return .object([
        ("type", .string("BertNormalizer")), ("clean_text", .bool(c)),
        ("handle_chinese_chars", .bool(h)),
        ("strip_accents", s.map { .bool($0) } ?? .null), ("lowercase", .bool(l)),
      ])
    case .nfc: return .object([("type", .string("NFC"))])
    case .nfkc: return .object([("type", .string("NFKC"))])
    case .nfd: return .object([("type", .string("NFD"))])
    case .nfkd: return .object([("type", .string("NFKD"))])
    case .lowercase: return .object([("type", .string("Lowercase"))])
    case .stripAccents: return .object([("type", .string("StripAccents"))])
    case .precompiled(let m):
      return .object([
        ("type", .string("Precompiled")),
        ("precompiled_charsmap", .string(Data(m.bytes).base64EncodedString())),
      ])
    case .replace(let p, let c):
      return .object([
        ("type", .string("Replace")), ("pattern", pattern(p)), ("content", .string(c)),
      ])
    case .strip(let l, let r):
      return .object([
        ("type", .string("Strip")), ("strip_left", .bool(l)), ("strip_right", .bool(r)),
      ])
    case .prepend(let s): return .object([("type", .string("Prepend")), ("prepend", .string(s))])
    case .nmt: return .object([("type", .string("Nmt"))])
    case .sequence(let xs):
      return .object([("type", .string("Sequence")), ("normalizers", .array(xs.map(normalizer)))])
    }
  }

  static func preTokenizer(_ p: PreTokenizer) -> JSONValue {
    switch p {
    case .byteLevel(let a, let r, let t):
      return .object([
        ("type", .string("ByteLevel")), ("add_prefix_space", .bool(a)), ("trim_offsets", .bool(t)),
        ("use_regex", .bool(r)),
      ])
    case .bert: return .object([("type", .string("BertPreTokenizer"))])
    case .whitespace: return .object([("type", .string("Whitespace"))])
    case .whitespaceSplit: return .object([("type", .string("WhitespaceSplit"))])
    case .metaspace(let m): return metaspace(m)
    case .split(let pat, let b, let inv):
      return .object([
        ("type", .string("Split")), ("pattern", pattern(pat)), ("behavior", .string(b.rawValue)),
        ("invert", .bool(inv)),
      ])
    case .sequence(let xs):
      return .object([
        ("type", .string("Sequence")), ("pretokenizers", .array(xs.map(preTokenizer))),
      ])
    }
  }

  static func postProcessor(_ p: PostProcessor) -> JSONValue {
    func pair(_ x: (String, UInt32)) -> JSONValue { .array([.string(x.0), .int(Int(x.1))]) }
    switch p {
    case .byteLevel(let t, let a):
      return .object([
        ("type", .string("ByteLevel")), ("add_prefix_space", .bool(a)), ("trim_offsets", .bool(t)),
        ("use_regex", .bool(true)),
      ])
    case .roberta(let sep, let cls, let t, let a):
      return .object([
        ("type", .string("RobertaProcessing")), ("sep", pair(sep)), ("cls", pair(cls)),
        ("trim_offsets", .bool(t)), ("add_prefix_space", .bool(a)),
      ])
    case .bert(let sep, let cls):
      return .object([("type", .string("BertProcessing")), ("sep", pair(sep)), ("cls", pair(cls))])
    case .template(let s, let pr, let sp):
      func pieces(_ xs: [TemplatePiece]) -> JSONValue {
        .array(
          xs.map {
            switch $0 {
            case .sequence(let id, let t):
              return .object([
                ("Sequence", .object([("id", .string(id)), ("type_id", .int(Int(t)))]))
              ])
            case .special(let id, let t):
              return .object([
                ("SpecialToken", .object([("id", .string(id)), ("type_id", .int(Int(t)))]))
              ])
            }
          })
      }
      let specials = sp.keys.sorted().map { k in
        (
          k,
          JSONValue.object([
            ("id", .string(k)), ("ids", .array(sp[k]!.ids.map { .int(Int($0)) })),
            ("tokens", .array(sp[k]!.tokens.map { .string($0) })),
          ])
        )
      }
      return .object([
        ("type", .string("TemplateProcessing")), ("single", pieces(s)), ("pair", pieces(pr)),
        ("special_tokens", .object(specials)),
      ])
    }
  }

  static func decoder(_ d: Decoder) -> JSONValue {
    switch d {
    case .byteLevel:
      return .object([
        ("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)),
        ("trim_offsets", .bool(true)), ("use_regex", .bool(true)),
      ])
    case .wordPiece(let p, let c):
      return .object([
        ("type", .string("WordPiece")), ("prefix", .string(p)), ("cleanup", .bool(c)),
      ])
    case .metaspace(let m): return metaspace(m)
    case .byteFallback: return .object([("type", .string("ByteFallback"))])
    case .fuse: return .object([("type", .string("Fuse"))])
    case .strip(let c, let a, let b):
      return .object([
        ("type", .string("Strip")), ("content", .string(c)), ("start", .int(a)), ("stop", .int(b)),
      ])
    case .replace(let p, let c):
      return .object([
        ("type", .string("Replace")), ("pattern", pattern(p)), ("content", .string(c)),
      ])
    case .sequence(let xs):
      return .object([("type", .string("Sequence")), ("decoders", .array(xs.map(decoder)))])
    }
  }

  static func pattern(_ p: SplitPattern) -> JSONValue {
    switch p {
    case .string(let s): return .object([("String", .string(s))])
    case .regex(let s): return .object([("Regex", .string(s))])
    }
  }

  static func metaspace(_ m: Metaspace) -> JSONValue {
    .object([
      ("type", .string("Metaspace")), ("replacement", .string(m.replacement)),
      ("prepend_scheme", .string(m.prependScheme.rawValue)), ("split", .bool(m.split)),
    ])
  }

  static func model(_ m: Model) -> JSONValue {
    switch m {
    case .bpe(let b):
      let vocab = b.idToToken.sortedById.map { ($0.token, JSONValue.int(Int($0.id))) }
      return .object([
        ("type", .string("BPE")), ("dropout", b.dropout.map { .double($0) } ?? .null),
        ("unk_token", b.unkToken.json),
        ("continuing_subword_prefix", (b.savedPrefix ?? b.continuingSubwordPrefix).json),
        ("end_of_word_suffix", (b.savedSuffix ?? b.endOfWordSuffix).json),
        ("fuse_unk", .bool(b.fuseUnk)), ("byte_fallback", .bool(b.byteFallback)),
        ("ignore_merges", .bool(b.ignoreMerges)),
        ("vocab", .object(vocab)),
        ("merges", .array(b.merges.map { .array([.string($0.0), .string($0.1)]) })),
      ])
    case .unigram(let u):
      return .object([
        ("type", .string("Unigram")), ("unk_id", u.unkId.map { .int($0) } ?? .null),
        ("vocab", .array(u.pieces.map { .array([.string($0.piece), .double($0.score)]) })),
        ("byte_fallback", .bool(u.byteFallback)),
      ])
    case .wordPiece(let w):
      return .object([
        ("type", .string("WordPiece")), ("unk_token", .string(w.unkToken)),
        ("continuing_subword_prefix", .string(w.continuingSubwordPrefix)),
        ("max_input_chars_per_word", .int(w.maxInputCharsPerWord)),
        ("vocab", .object(w.idToToken.sortedById.map { ($0.token, JSONValue.int(Int($0.id))) })),
      ])
    }
  }
}
