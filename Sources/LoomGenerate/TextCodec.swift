import Foundation
import LoomCore
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

  /// The end-of-text token, when the vocabulary has one (a character vocabulary has none).
  public var eosTokenId: Int? {
    if case .hf(let t) = self, let id = t.tokenToId("<|endoftext|>") ?? t.tokenToId("</s>") {
      return Int(id)
    }
    return nil
  }

  /// Loads from a model directory (char_vocab.json or a tokenizer), a tokenizer path,
  /// or a shipped tokenizer's name (`gpt2`).
  public static func load(_ path: String) throws -> TextCodec {
    let chars = path + "/" + charVocabFile
    if FileManager.default.fileExists(atPath: chars) {
      guard let data = FileManager.default.contents(atPath: chars),
        let list = try? JSONDecoder().decode([String].self, from: data)
      else { throw LoomError("\(chars) is not a JSON list of characters") }
      let scalars = try list.enumerated().map { i, s -> Unicode.Scalar in
        guard s.unicodeScalars.count == 1 else {
          throw LoomError("\(chars): entry \(i) is not one character")
        }
        return s.unicodeScalars.first!
      }
      return .chars(CharTokenizer(chars: scalars))
    }
    return .hf(try Tokenizer.load(nameOrPath: path))
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
