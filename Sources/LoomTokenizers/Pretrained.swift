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
}
