import Foundation
import LoomCore
import LoomIO
import LoomTokenizers

/// The tokenizer a model directory carries: a Hugging Face tokenizer (tokenizer.json,
/// vocab.json + merges.txt, GPT-2's encoder.json + vocab.bpe) or Loom's character
/// vocabulary (char_vocab.json, a JSON list of characters whose positions are the ids,
/// written by `loom train gpt --char`).
public enum TextCodec {
  case hf(Tokenizer)
  case chars(CharTokenizer)

  public static let charVocabFile = "char_vocab.json"

  public var vocabSize: Int {
    switch self {
    case .hf(let t): return t.vocabSize
    case .chars(let c): return c.vocabSize
    }
  }

  public func encode(_ text: String) throws -> [Int] {
    switch self {
    case .hf(let t): return t.encodeIds(text).map(Int.init)
    case .chars(let c): return try c.encode(text)
    }
  }

  /// Text of `ids`, special tokens skipped.
  public func decode(_ ids: [Int]) -> String {
    switch self {
    case .hf(let t): return t.decode(ids.map { UInt32($0) }, skipSpecialTokens: true)
    case .chars(let c): return c.decode(ids)
    }
  }

  /// Ids of a model with `modelVocabSize` embeddings that this vocabulary never gives: those
  /// past a character vocabulary smaller than the model's. Generation suppresses them
  /// (`GenerationConfig.suppressTokens`), as no text could show them. None for a Hugging
  /// Face tokenizer (HF samples a padded vocabulary's extra ids too).
  public func unusedIds(modelVocabSize: Int) -> [Int] {
    guard case .chars(let c) = self, c.vocabSize < modelVocabSize else { return [] }
    return Array(c.vocabSize..<modelVocabSize)
  }

  /// The end-of-text token, when the vocabulary has one (a character vocabulary has none).
  public var eosTokenId: Int? {
    if case .hf(let t) = self, let id = t.tokenToId("<|endoftext|>") ?? t.tokenToId("</s>") {
      return Int(id)
    }
    return nil
  }

  /// Loads from a model directory (char_vocab.json or a tokenizer), a tokenizer path,
  /// or a shipped tokenizer's name (`gpt2`). With `modelVocabSize`, a character vocabulary
  /// larger than it is an error (its ids would lie outside the embeddings). A smaller one is
  /// a model fine-tuned from a larger vocabulary: the ids past it are `unusedIds`.
  public static func load(_ path: String, modelVocabSize: Int? = nil) throws -> TextCodec {
    let chars = path + "/" + charVocabFile
    if FileManager.default.fileExists(atPath: chars) {
      let tokenizer = try loadChars(chars)
      if let modelVocabSize, tokenizer.vocabSize > modelVocabSize {
        throw LoomError(
          "\(chars) lists \(tokenizer.vocabSize) characters but the model's vocab_size is \(modelVocabSize): the vocabulary belongs to another model (char_vocab.json may list at most vocab_size characters)")
      }
      return .chars(tokenizer)
    }
    return .hf(try Tokenizer.load(nameOrPath: path))
  }

  /// Largest char_vocab.json read (a character list is a few KB).
  public static let maxCharVocabBytes = 64 << 20

  /// A char_vocab.json: a JSON list of distinct one-character strings.
  public static func loadChars(_ path: String) throws -> CharTokenizer {
    let data: Data
    do { data = try FileInput.read(path, limit: maxCharVocabBytes) } catch { throw LoomError("\(error)") }
    guard let list = try? JSONDecoder().decode([String].self, from: data) else {
      throw LoomError("\(path) is not a JSON list of characters (expected [\"a\", \"b\", …])")
    }
    guard !list.isEmpty else { throw LoomError("\(path) lists no characters") }
    var first: [Unicode.Scalar: Int] = [:]
    let scalars = try list.enumerated().map { i, s -> Unicode.Scalar in
      guard s.unicodeScalars.count == 1, let scalar = s.unicodeScalars.first else {
        throw LoomError("\(path): entry \(i) is not one character (got \(s.unicodeScalars.count) Unicode scalars)")
      }
      if let j = first[scalar] { throw LoomError("\(path): entry \(i) repeats entry \(j) (each character once)") }
      first[scalar] = i
      return scalar
    }
    return CharTokenizer(chars: scalars)
  }

  /// Writes the tokenizer files into a model directory: HF's files copied from a
  /// `source` directory holding them, else tokenizer.json.
  public func save(to dir: String, source: String?) throws {
    let fm = FileManager.default
    switch self {
    case .chars(let c):
      let data = try JSONEncoder().encode(c.chars.map { String($0) })
      try data.write(to: URL(fileURLWithPath: dir + "/" + Self.charVocabFile), options: .atomic)
    case .hf(let t):
      if let source {
        var isDir: ObjCBool = false
        let names = ["tokenizer.json", "vocab.json", "merges.txt", "vocab.txt"]
        if fm.fileExists(atPath: source, isDirectory: &isDir), isDir.boolValue,
          names.contains(where: { fm.fileExists(atPath: source + "/" + $0) })
        {
          for name in names where fm.fileExists(atPath: source + "/" + name) {
            try? fm.removeItem(atPath: dir + "/" + name)
            try fm.copyItem(atPath: source + "/" + name, toPath: dir + "/" + name)
          }
          return
        }
      }
      try t.save(dir + "/tokenizer.json")
    }
  }
}
