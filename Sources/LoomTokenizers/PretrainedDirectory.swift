import Foundation

/// `AutoTokenizer.from_pretrained(dir)` / `save_pretrained(dir)`: tokenizer.json or the
/// slow-tokenizer vocabulary files, with tokenizer_config.json and special_tokens_map.json.
extension Tokenizer {
  /// Loads a tokenizer directory as HF's AutoTokenizer does: tokenizer.json when present,
  /// else BERT's vocab.txt or RoBERTa's (GPT-2's) vocab.json + merges.txt configured by
  /// tokenizer_config.json (do_lower_case, strip_accents, add_prefix_space, trim_offsets,
  /// special tokens, model_max_length); special_tokens_map.json fills names still missing.
  public static func fromPretrained(_ directory: String) throws -> Tokenizer {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
      throw TokenizerError.missingFile(directory)
    }
    guard isDir.boolValue else { return try load(path: directory) }
    let fm = FileManager.default
    let cfgPath = directory + "/tokenizer_config.json"
    let mapPath = directory + "/special_tokens_map.json"
    let cfg = fm.fileExists(atPath: cfgPath) ? try TokenizerConfigReader(file: cfgPath) : nil
    let map = fm.fileExists(atPath: mapPath) ? try TokenizerConfigReader(file: mapPath) : nil
    let cls = try cfg?.string("tokenizer_class")
    var specials = SpecialTokens()
    for (k, _) in specials.named {
      specials.set(k, try cfg?.token(k) ?? map?.token(k))
    }
    specials.additional =
      try cfg?.tokenList("additional_special_tokens") ?? map?.tokenList("additional_special_tokens")
      ?? []

    let t: Tokenizer
    if fm.fileExists(atPath: directory + "/tokenizer.json") {
      t = try load(tokenizerJSON: directory + "/tokenizer.json")
    } else if fm.fileExists(atPath: directory + "/vocab.txt") {
      t = try bertFromVocab(directory + "/vocab.txt", cfg: cfg, specials: &specials)
    } else if fm.fileExists(atPath: directory + "/vocab.json") {
      let vj = directory + "/vocab.json"
      let mt = directory + "/merges.txt"
      if cls?.hasPrefix("GPT2") == true {
        t = try gpt2(encoder: vj, merges: mt)
        t.preTokenizer = .byteLevel(
          addPrefixSpace: try cfg?.bool("add_prefix_space") ?? false, useRegex: true,
          trimOffsets: true)
      } else {
        t = try robertaFromVocab(vj, merges: mt, cfg: cfg, specials: &specials)
      }
    } else {
      return try load(path: directory)  // throws naming what it looked for
    }
    t.tokenizerClass = cls
    t.specialTokens = specials
    if let cfg {
      t.modelMaxLength = try cfg.modelMaxLength()
      let flags = [
        "do_lower_case", "strip_accents", "tokenize_chinese_chars", "add_prefix_space",
        "trim_offsets",
      ]
      for k in flags where cfg.root[k] != nil {
        t.configExtras[k] = try cfg.bool(k).map { .bool($0) } ?? .null
      }
    }
    let missing = t.specialTokens.all.filter { t.tokenToId($0) == nil }
    if !missing.isEmpty {
      // HF adds special tokens missing from the vocabulary at the end of it.
      t.addSpecialTokens(missing)
    }
    t.addTokens(
      t.specialTokens.all.compactMap { s in
        t.tokenToId(s).map { AddedToken(content: s, id: $0, special: true) }
      })
    t.inferSpecialTokens()
    return t
  }

  private static func bertFromVocab(
    _ path: String, cfg: TokenizerConfigReader?, specials: inout SpecialTokens
  ) throws -> Tokenizer {
    let base = SpecialTokens.bert
    for (k, v) in base.named where specials.named.first(where: { $0.key == k })?.value == nil {
      specials.set(k, v)
    }
    let t = Tokenizer(
      model: .wordPiece(
        WordPiece(vocab: try WordPiece.vocab(fromFile: path), unkToken: specials.unk ?? "[UNK]")))
    let strip: Bool?
    if let x = cfg?.root["strip_accents"], !(x is NSNull) {
      strip = try cfg?.bool("strip_accents")
    } else {
      strip = nil
    }
    t.normalizer = .bert(
      cleanText: true, handleChineseChars: try cfg?.bool("tokenize_chinese_chars") ?? true,
      stripAccents: strip, lowercase: try cfg?.bool("do_lower_case") ?? true)
    t.preTokenizer = .bert
    t.decoder = .wordPiece(prefix: "##", cleanup: true)
    if let c = specials.cls, let ci = t.model.id(of: c), let s = specials.sep,
      let si = t.model.id(of: s)
    {
      t.postProcessor = .bert(sep: (s, si), cls: (c, ci))
    }
    return t
  }

  private static func robertaFromVocab(
    _ vocab: String, merges: String, cfg: TokenizerConfigReader?, specials: inout SpecialTokens
  ) throws -> Tokenizer {
    let base = SpecialTokens.roberta
    for (k, v) in base.named where specials.named.first(where: { $0.key == k })?.value == nil {
      specials.set(k, v)
    }
    let aps = try cfg?.bool("add_prefix_space") ?? false
    let t = try byteLevelBPE(vocab: vocab, merges: merges, addPrefixSpace: aps)
    if let c = specials.cls, let ci = t.model.id(of: c), let s = specials.sep,
      let si = t.model.id(of: s)
    {
      t.postProcessor = .roberta(
        sep: (s, si), cls: (c, ci), trimOffsets: try cfg?.bool("trim_offsets") ?? true,
        addPrefixSpace: aps)
    }
    return t
  }

  /// The tokenizer_class HF should build: the configured one, else one the pipeline implies.
  public var resolvedTokenizerClass: String {
    if let c = tokenizerClass { return c }
    switch (model, postProcessor) {
    case (.wordPiece, _): return "BertTokenizer"
    case (.bpe, .roberta?): return "RobertaTokenizer"
    case (.bpe, _) where preTokenizer?.isByteLevel == true: return "GPT2Tokenizer"
    default: return "PreTrainedTokenizerFast"
    }
  }

  /// Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json, a directory
  /// HF's `AutoTokenizer.from_pretrained` loads (and `fromPretrained` reads back).
  public func savePretrained(_ directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try save(directory + "/tokenizer.json")
    var cfg = [(String, JSONValue)]()
    for (k, v) in configExtras { cfg.append((k, v)) }
    if case .bert(_, _, let strip, let lower)? = normalizer, case .wordPiece = model {
      cfg.removeAll { ["do_lower_case", "strip_accents"].contains($0.0) }
      cfg.append(("do_lower_case", .bool(lower)))
      cfg.append(("strip_accents", strip.map { .bool($0) } ?? .null))
    }
    if case .roberta(_, _, let trim, let aps)? = postProcessor {
      cfg.removeAll { ["add_prefix_space", "trim_offsets"].contains($0.0) }
      cfg.append(("add_prefix_space", .bool(aps)))
      cfg.append(("trim_offsets", .bool(trim)))
    }
    var map = [(String, JSONValue)]()
    for (k, v) in specialTokens.named {
      guard let v else { continue }
      cfg.append((k, .string(v)))
      map.append((k, .string(v)))
    }
    if !specialTokens.additional.isEmpty {
      let a = JSONValue.array(specialTokens.additional.map { .string($0) })
      cfg.append(("additional_special_tokens", a))
      map.append(("additional_special_tokens", a))
    }
    if let m = modelMaxLength { cfg.append(("model_max_length", .int(m))) }
    cfg.append(("tokenizer_class", .string(resolvedTokenizerClass)))
    cfg.sort { $0.0 < $1.0 }
    try (JSONValue.object(cfg).pretty() + "\n").write(
      toFile: directory + "/tokenizer_config.json", atomically: true, encoding: .utf8)
    try (JSONValue.object(map).pretty() + "\n").write(
      toFile: directory + "/special_tokens_map.json", atomically: true, encoding: .utf8)
  }
}

/// tokenizer_config.json / special_tokens_map.json: every value checked, errors naming the key.
struct TokenizerConfigReader {
  let file: String
  let root: [String: Any]

  init(file: String) throws {
    self.file = file
    let obj = try VocabFiles.parseJSON(try VocabFiles.readData(file), file: file)
    guard let d = obj as? [String: Any] else {
      throw TokenizerError.malformed(file: file, place: "top level", reason: "expected an object")
    }
    root = d
  }

  func fail(_ key: String, _ why: String) -> TokenizerError {
    .malformed(file: file, place: key, reason: why)
  }

  func string(_ key: String) throws -> String? {
    guard let x = root[key], !(x is NSNull) else { return nil }
    guard let s = x as? String else { throw fail(key, "expected a string") }
    return s
  }

  func bool(_ key: String) throws -> Bool? {
    guard let x = root[key], !(x is NSNull) else { return nil }
    guard let n = x as? NSNumber, n.doubleValue == 0 || n.doubleValue == 1 else {
      throw fail(key, "expected true or false")
    }
    return n.boolValue
  }

  /// A special token: a string, or an AddedToken object with "content".
  func token(_ key: String) throws -> String? {
    guard let x = root[key], !(x is NSNull) else { return nil }
    return try tokenValue(x, key)
  }

  private func tokenValue(_ x: Any, _ place: String) throws -> String {
    if let s = x as? String { return s }
    if let d = x as? [String: Any], let s = d["content"] as? String { return s }
    throw fail(place, "expected a token string or an object with \"content\"")
  }

  func tokenList(_ key: String) throws -> [String]? {
    guard let x = root[key], !(x is NSNull) else { return nil }
    guard let a = x as? [Any] else { throw fail(key, "expected an array of tokens") }
    return try a.enumerated().map { try tokenValue($1, "\(key)[\($0)]") }
  }

  /// model_max_length; HF's "no limit" (1e30) and anything past 2^30 read as none.
  func modelMaxLength() throws -> Int? {
    guard let x = root["model_max_length"], !(x is NSNull) else { return nil }
    guard let n = x as? NSNumber, n.doubleValue.isFinite, n.doubleValue >= 0,
      n.doubleValue == n.doubleValue.rounded()
    else { throw fail("model_max_length", "expected a non-negative integer, got \(x)") }
    return n.doubleValue > Double(maxSequenceLength) ? nil : Int(n.doubleValue)
  }
}

extension Tokenizer {
  /// Configures a byte-level BPE as `RobertaTokenizer` does: `<s> A </s></s> B </s>` with
  /// trimmed offsets, RoBERTa's special-token names, tokenizer_class RobertaTokenizer.
  public func makeRoberta(modelMaxLength: Int? = 512) throws {
    let names = SpecialTokens.roberta
    guard let cls = names.cls, let c = tokenToId(cls), let sep = names.sep, let s = tokenToId(sep)
    else {
      throw TokenizerError.invalidArgument(
        "a RoBERTa tokenizer needs <s> and </s> in its vocabulary (train with --special-tokens \"<s>,<pad>,</s>,<unk>,<mask>\")"
      )
    }
    let aps = preTokenizer?.addsPrefixSpace ?? false
    postProcessor = .roberta(sep: (sep, s), cls: (cls, c), trimOffsets: true, addPrefixSpace: aps)
    specialTokens = names
    tokenizerClass = "RobertaTokenizer"
    self.modelMaxLength = modelMaxLength
  }
}
