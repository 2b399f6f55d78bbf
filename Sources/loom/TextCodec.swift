import Foundation
import LoomCore
import LoomTokenizers

/// The tokenizer a model directory carries: a Hugging Face tokenizer (tokenizer.json,
/// or vocab.json + merges.txt) or Loom's character vocabulary (char_vocab.json, for
/// character-level models like the seeds' scratch GPT).
enum TextCodec {
  case hf(Tokenizer)
  case chars(CharTokenizer)

  static let charVocabFile = "char_vocab.json"

  var vocabSize: Int {
    switch self {
    case .hf(let t): return t.vocabSize
    case .chars(let c): return c.vocabSize
    }
  }

  func encode(_ text: String) throws -> [Int] {
    switch self {
    case .hf(let t): return t.encodeIds(text).map(Int.init)
    case .chars(let c): return try c.encode(text)
    }
  }

  func decode(_ ids: [Int]) -> String {
    switch self {
    case .hf(let t): return t.decode(ids.map { UInt32($0) }, skipSpecialTokens: true)
    case .chars(let c): return c.decode(ids)
    }
  }

  var eosTokenId: Int? {
    if case .hf(let t) = self, let id = t.tokenToId("<|endoftext|>") ?? t.tokenToId("</s>") { return Int(id) }
    return nil
  }

  /// Loads from a model directory (or a tokenizer path).
  static func load(_ path: String) throws -> TextCodec {
    let chars = path + "/" + charVocabFile
    if FileManager.default.fileExists(atPath: chars) {
      guard let data = FileManager.default.contents(atPath: chars),
        let list = try? JSONDecoder().decode([String].self, from: data)
      else { throw LoomError("\(chars) is not a JSON list of characters") }
      let scalars = try list.enumerated().map { i, s -> Unicode.Scalar in
        guard s.unicodeScalars.count == 1 else { throw LoomError("\(chars): entry \(i) is not one character") }
        return s.unicodeScalars.first!
      }
      return .chars(CharTokenizer(chars: scalars))
    }
    return .hf(try Tokenizer.load(path: path))
  }

  /// Writes the tokenizer files into a model directory.
  func save(to dir: String, source: String?) throws {
    let fm = FileManager.default
    switch self {
    case .chars(let c):
      let data = try JSONEncoder().encode(c.chars.map { String($0) })
      try data.write(to: URL(fileURLWithPath: dir + "/" + Self.charVocabFile), options: .atomic)
    case .hf(let t):
      if let source {
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: source, isDirectory: &isDir), isDir.boolValue {
          for name in ["tokenizer.json", "vocab.json", "merges.txt", "vocab.txt"] where fm.fileExists(atPath: source + "/" + name) {
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
