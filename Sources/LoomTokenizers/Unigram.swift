import Foundation

/// Unigram language-model tokenizer (SentencePiece's, as HF `tokenizers` runs it: T5, ALBERT,
/// XLNet, Switch). Each piece has a log-probability; a word's encoding is the Viterbi path of
/// highest total score over every segmentation into pieces.
public final class Unigram: @unchecked Sendable {
  /// (piece, score) by id, as the file lists them.
  public let pieces: [(piece: String, score: Double)]
  /// piece → id (a repeated piece takes its last id, as HF's map does).
  public let vocab: [String: UInt32]
  public let unkId: Int?
  public var byteFallback: Bool
  /// Consecutive unknown characters become one unknown token (HF fixes this to true).
  public var fuseUnk = true
  /// Lowest piece score; unknown characters cost this less 10 (SentencePiece's kUnkPenalty).
  let minScore: Double
  let trie: PieceTrie
  /// Id of each byte's `<0xNN>` piece, UInt32.max where absent.
  let byteIds: [UInt32]

  public enum BadVocab: Error, Equatable {
    case empty
    case unkOutOfRange(unkId: Int, count: Int)
  }

  public init(pieces: [(piece: String, score: Double)], unkId: Int?, byteFallback: Bool = false)
    throws
  {
    // HF (model.rs `Unigram::from`): an unk id needs a non-empty vocabulary holding it.
    if let u = unkId {
      if pieces.isEmpty { throw BadVocab.empty }
      if u < 0 || u >= pieces.count { throw BadVocab.unkOutOfRange(unkId: u, count: pieces.count) }
    }
    self.pieces = pieces
    self.unkId = unkId
    self.byteFallback = byteFallback
    var v = [String: UInt32](minimumCapacity: pieces.count)
    var t = PieceTrie()
    var m = Double.infinity
    for (i, p) in pieces.enumerated() {
      v[p.piece] = UInt32(i)
      t.insert(Array(p.piece.utf8))
      if p.score < m { m = p.score }
    }
    for (k, id) in v { t.setValue(Array(k.utf8), id) }
    vocab = v
    trie = t
    minScore = m
    byteIds = (0..<256).map { v[String(format: "<0x%02X>", $0)] ?? UInt32.max }
  }

  public func id(of token: String) -> UInt32? { vocab[token] }
  public func token(of id: UInt32) -> String? {
    Int(id) < pieces.count ? pieces[Int(id)].piece : nil
  }
  public var vocabSize: Int { pieces.count }

  /// Best segmentation of `p` as (start, end, piece id or -1 for unknown) byte ranges; the
  /// first-found path wins ties, as HF's `encode_optimized`.
  func viterbi(_ p: UnsafeBufferPointer<UInt8>) -> [(Int, Int, Int)] {
    let n = p.count
    if n == 0 { return [] }
    let unkScore = minScore - 10
    var score = [Double](repeating: 0, count: n + 1)
    var from = [Int](repeating: -1, count: n + 1)
    var ids = [Int](repeating: -1, count: n + 1)
    var pos = 0
    while pos < n {
      let here = score[pos]
      let mblen = decodeScalar(p, pos).1
      var single = false
      trie.prefixes(p, from: pos) { end, id in
        let cand = pieces[Int(id)].score + here
        if from[end] < 0 || cand > score[end] {
          score[end] = cand
          from[end] = pos
          ids[end] = Int(id)
        }
        if end - pos == mblen { single = true }
      }
      if !single {
        let end = pos + mblen
        let cand = unkScore + here
        if from[end] < 0 || cand > score[end] {
          score[end] = cand
          from[end] = pos
          ids[end] = -1
        }
      }
      pos += mblen
    }
    var out = [(Int, Int, Int)]()
    var end = n
    while end > 0 {
      let s = from[end]
      let id = ids[end] == unkId ? -1 : ids[end]
      if fuseUnk, id == -1, let last = out.last, last.2 == -1 {
        out[out.count - 1] = (s, last.1, -1)
      } else {
        out.append((s, end, id))
      }
      end = s
    }
    out.reverse()
    return out
  }

  /// Encodes one pre-token. Byte-fallback tokens after the first get length 0: they share the
  /// first one's offsets (HF gives every byte of an unknown span the span's offsets).
  func encodeWord(_ p: UnsafeBufferPointer<UInt8>, ids: inout [UInt32], lens: inout [Int32]) {
    ids.removeAll(keepingCapacity: true)
    lens.removeAll(keepingCapacity: true)
    for (s, e, id) in viterbi(p) {
      if id >= 0 {
        ids.append(UInt32(id))
        lens.append(Int32(e - s))
        continue
      }
      // HF's `tokenize`: an unknown span that is itself a piece keeps it; else its bytes as
      // <0xNN> pieces when all exist; else the unk id; with none, `Unigram.missingUnk` marks
      // the span (HF fails: `encode` throws, the ids-only path drops it).
      let surface = String(decoding: UnsafeBufferPointer(rebasing: p[s..<e]), as: UTF8.self)
      if let v = vocab[surface] {
        ids.append(v)
        lens.append(Int32(e - s))
      } else if byteFallback, p[s..<e].allSatisfy({ byteIds[Int($0)] != UInt32.max }) {
        for k in s..<e {
          ids.append(byteIds[Int(p[k])])
          lens.append(k == s ? Int32(e - s) : 0)
        }
      } else {
        ids.append(unkId.map { UInt32($0) } ?? Unigram.missingUnk)
        lens.append(Int32(e - s))
      }
    }
  }

  /// Marks an unknown span in a model without `unk_id`; never a real id (ids stop at
  /// UInt32.max − 1, `maxTokenId`).
  static let missingUnk = UInt32.max
}

/// A byte trie over the pieces, for common-prefix search.
struct PieceTrie {
  /// node << 8 | byte → child node.
  private var next = [UInt64: Int32]()
  /// Piece id ending at each node, -1 for none.
  private var value: [Int64] = [-1]

  mutating func insert(_ key: [UInt8]) {
    var node: Int32 = 0
    for b in key {
      let k = UInt64(node) << 8 | UInt64(b)
      if let c = next[k] {
        node = c
      } else {
        let c = Int32(value.count)
        value.append(-1)
        next[k] = c
        node = c
      }
    }
  }

  mutating func setValue(_ key: [UInt8], _ id: UInt32) {
    var node: Int32 = 0
    for b in key { node = next[UInt64(node) << 8 | UInt64(b)]! }
    value[Int(node)] = Int64(id)
  }

  /// Calls `f(end, id)` for each piece that is a prefix of p[start...], shortest first.
  @inline(__always)
  func prefixes(_ p: UnsafeBufferPointer<UInt8>, from start: Int, _ f: (Int, UInt32) -> Void) {
    var node: Int32 = 0
    var i = start
    while i < p.count {
      guard let c = next[UInt64(node) << 8 | UInt64(p[i])] else { return }
      node = c
      i += 1
      let v = value[Int(c)]
      if v >= 0 { f(i, UInt32(v)) }
    }
  }
}
