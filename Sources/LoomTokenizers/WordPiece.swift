import Foundation

/// WordPiece model: greedy longest-match-first over a vocabulary (BERT).
public final class WordPiece: @unchecked Sendable {
  public let vocab: [String: UInt32]
  public let idToToken: TokenTable
  public var unkToken: String
  public var continuingSubwordPrefix: String
  public var maxInputCharsPerWord: Int

  public init(
    vocab: [String: UInt32], unkToken: String = "[UNK]", continuingSubwordPrefix: String = "##",
    maxInputCharsPerWord: Int = 100
  ) {
    self.vocab = vocab
    idToToken = TokenTable(vocab)
    self.unkToken = unkToken
    self.continuingSubwordPrefix = continuingSubwordPrefix
    self.maxInputCharsPerWord = maxInputCharsPerWord
  }

  /// Reads a BERT vocab.txt: one token a line, id = line number.
  public static func vocab(fromFile path: String) throws -> [String: UInt32] {
    guard let text = String(data: try VocabFiles.readData(path), encoding: .utf8) else {
      throw TokenizerError.malformed(file: path, place: "file", reason: "not valid UTF-8")
    }
    var v = [String: UInt32]()
    var lines = splitLines(text)
    if lines.last == "" { lines.removeLast() }
    guard lines.count <= maxTokenId else {
      throw TokenizerError.malformed(
        file: path, place: "file", reason: "more than \(maxTokenId) lines")
    }
    // As HF's WordPiece.read_file: trailing whitespace trimmed, a repeated token takes its
    // last line's id.
    for (i, l) in lines.enumerated() {
      var u = l.unicodeScalars[...]
      while let last = u.last, last.properties.isWhitespace { u.removeLast() }
      v[String(Substring(u))] = UInt32(i)
    }
    return v
  }

  func encodeWord(_ p: UnsafeBufferPointer<UInt8>, ids: inout [UInt32], lens: inout [Int32]) {
    ids.removeAll(keepingCapacity: true)
    lens.removeAll(keepingCapacity: true)
    // Character boundaries.
    var bounds = [0]
    var i = 0
    while i < p.count {
      i += decodeScalar(p, i).1
      bounds.append(i)
    }
    let unk = vocab[unkToken] ?? 0
    if bounds.count - 1 > maxInputCharsPerWord {
      ids = [unk]
      lens = [Int32(p.count)]
      return
    }
    var start = 0
    while start < bounds.count - 1 {
      var end = bounds.count - 1
      var found: UInt32?
      while end > start {
        var s = String(
          decoding: UnsafeBufferPointer(rebasing: p[bounds[start]..<bounds[end]]), as: UTF8.self)
        if start > 0 { s = continuingSubwordPrefix + s }
        if let id = vocab[s] {
          found = id
          break
        }
        end -= 1
      }
      guard let id = found else {
        ids = [unk]
        lens = [Int32(p.count)]
        return
      }
      ids.append(id)
      lens.append(Int32(bounds[end] - bounds[start]))
      start = end
    }
  }
}
