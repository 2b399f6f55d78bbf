import Foundation

extension Tokenizer {
  /// Byte-level BPE as HF's `ByteLevelBPETokenizer(vocab, merges)`.
  public static func byteLevelBPE(
    vocab: String, merges: String, addPrefixSpace: Bool = false, trimOffsets: Bool = false
  ) throws -> Tokenizer {
    let t = Tokenizer(model: .bpe(try VocabFiles.bpe(vocab: vocab, merges: merges)))
    t.preTokenizer = .byteLevel(addPrefixSpace: addPrefixSpace, useRegex: true, trimOffsets: true)
    t.decoder = .byteLevel
    t.postProcessor = .byteLevel(trimOffsets: trimOffsets, addPrefixSpace: addPrefixSpace)
    return t
  }

  /// GPT-2 from encoder.json + vocab.bpe, as HF's `GPT2TokenizerFast`.
  public static func gpt2(encoder: String, merges: String) throws -> Tokenizer {
    let t = try byteLevelBPE(vocab: encoder, merges: merges)
    t.postProcessor = nil
    t.addSpecialTokens(["<|endoftext|>"])
    return t
  }

  /// GPT-2 from Loom's data directory.
  public static func gpt2() throws -> Tokenizer {
    try gpt2(
      encoder: LoomHome.asset("gpt2/encoder.json").path,
      merges: LoomHome.asset("gpt2/vocab.bpe").path)
  }

  /// Names Loom ships (`gpt2`, from Loom's data directory) or a path for `load(path:)`.
  /// An existing path wins over a name.
  public static func load(nameOrPath: String) throws -> Tokenizer {
    if !FileManager.default.fileExists(atPath: nameOrPath) {
      switch nameOrPath {
      case "gpt2": return try gpt2()
      default:
        throw TokenizerError.invalidArgument(
          "no tokenizer file or directory \(nameOrPath): pass tokenizer.json, a directory with tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe or vocab.txt, or `gpt2` for the GPT-2 files in \(LoomHome.url.path)/gpt2"
        )
      }
    }
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDir), isDir.boolValue,
      ["tokenizer_config.json", "special_tokens_map.json"].contains(where: {
        FileManager.default.fileExists(atPath: nameOrPath + "/" + $0)
      })
    {
      return try fromPretrained(nameOrPath)  // an AutoTokenizer directory: its special tokens too
    }
    return try load(path: nameOrPath)
  }
}
