import Foundation

/// Unigram training as HF's `UnigramTrainer` (SentencePiece's EM): seed pieces from frequent
/// substrings, then rounds of EM (n_sub_iterations) each followed by pruning the pieces whose
/// removal costs the least likelihood, until 1.1 × vocab_size remain; then the vocabulary is cut
/// to vocab_size, every character of the corpus kept.
public struct UnigramTrainer {
  public var vocabSize = 8000
  public var nSubIterations = 2
  public var shrinkingFactor = 0.75
  public var specialTokens: [String] = []
  public var initialAlphabet: [String] = []
  public var unkToken: String?
  public var maxPieceLength = 16
  public var seedSize = 1_000_000
  public var showProgress = true

  public init(
    vocabSize: Int = 8000, specialTokens: [String] = [], unkToken: String? = nil,
    showProgress: Bool = true
  ) {
    self.vocabSize = vocabSize
    self.specialTokens = specialTokens
    self.unkToken = unkToken
    self.showProgress = showProgress
  }

  public typealias Piece = (piece: String, score: Double)
  typealias Sentence = (text: [UInt8], count: Double)

  public func validate() throws {
    // HF's vocab_size is a u32; the bound also keeps 1.1 × vocab_size from overflowing.
    guard vocabSize >= 1 && vocabSize <= maxTokenId else {
      throw TokenizerError.invalidArgument(
        "vocab_size must be in 1...\(maxTokenId), got \(vocabSize)")
    }
    if nSubIterations < 1 {
      throw TokenizerError.invalidArgument("n_sub_iterations must be ≥ 1, got \(nSubIterations)")
    }
    if !(shrinkingFactor > 0 && shrinkingFactor < 1) {
      throw TokenizerError.invalidArgument(
        "shrinking_factor must be in (0, 1), got \(shrinkingFactor)")
    }
    if maxPieceLength < 1 {
      throw TokenizerError.invalidArgument("max_piece_length must be ≥ 1, got \(maxPieceLength)")
    }
    let extra = unkToken.map { specialTokens.contains($0) ? 0 : 1 } ?? 0
    if specialTokens.count + extra >= vocabSize {
      throw TokenizerError.invalidArgument(
        "vocab_size \(vocabSize) leaves no room beside \(specialTokens.count + extra) special tokens"
      )
    }
  }

  /// Words of `files` with their counts as HF's `train_from_files` feeds a Metaspace
  /// pre-tokenizer: each line with its ending is one sequence. Invalid UTF-8 is read with
  /// replacement characters.
  public static func metaspaceWords(files: [String]) throws -> [(String, Int)] {
    var counts = [String: Int]()
    for f in files {
      guard FileManager.default.fileExists(atPath: f) else { throw TokenizerError.missingFile(f) }
      let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: f)), as: UTF8.self)
      var line = String.UnicodeScalarView()
      for u in text.unicodeScalars {
        line.append(u)
        if u == "\n" {
          addMetaspaceWords(line, &counts)
          line = String.UnicodeScalarView()
        }
      }
      addMetaspaceWords(line, &counts)
    }
    return counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  /// Words of each sequence (HF's `train_from_iterator`).
  public static func metaspaceWords(sequences: [String]) -> [(String, Int)] {
    var counts = [String: Int]()
    for s in sequences { addMetaspaceWords(s.unicodeScalars, &counts) }
    return counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  /// The default Metaspace on one sequence: spaces as "▁", a "▁" prepended unless there is
  /// one, split before each "▁".
  static func addMetaspaceWords(_ seq: String.UnicodeScalarView, _ counts: inout [String: Int]) {
    let rep: Unicode.Scalar = "▁"
    guard let first = seq.first else { return }
    var word = String.UnicodeScalarView()
    if first != " " && first != rep { word.append(rep) }
    for u in seq {
      let v = u == " " ? rep : u
      if v == rep && !word.isEmpty {
        counts[String(word), default: 0] += 1
        word = String.UnicodeScalarView()
      }
      word.append(v)
    }
    if !word.isEmpty { counts[String(word), default: 0] += 1 }
  }

  /// Trains on pre-tokenized words with their counts (HF's `feed` output).
  public func train(words: [(String, Int)]) throws -> Unigram {
    try validate()
    let sentences: [Sentence] = words.filter { !$0.0.isEmpty }.map {
      (Array($0.0.utf8), Double($0.1))
    }
    if sentences.isEmpty { throw TokenizerError.invalidArgument("no words to train on") }
    var pieces: [Piece] = [("<UNK>", .nan)]
    pieces += seeds(words.filter { !$0.0.isEmpty })
    let desired = vocabSize * 11 / 10
    let required = requiredChars(words)
    if required.count > vocabSize {
      throw TokenizerError.invalidArgument(
        "vocab_size \(vocabSize) cannot hold the corpus's \(required.count) distinct characters")
    }
    let loops =
      Int((log(Double(desired)) - log(Double(pieces.count))) / log(shrinkingFactor)) + 1
    let bar = ProgressBar(
      "EM training", total: max(loops, 1) * nSubIterations, enabled: showProgress)
    var step = 0
    var model = try Unigram(pieces: pieces, unkId: 0)
    while true {
      for _ in 0..<nSubIterations {
        let expected = eStep(model, sentences)
        pieces = mStep(pieces, expected)
        model = try Unigram(pieces: pieces, unkId: 0)
        step += 1
        bar.update(step)
      }
      if pieces.count <= desired { break }
      pieces = prune(model, pieces, sentences)
      model = try Unigram(pieces: pieces, unkId: 0)
    }
    bar.finish()
    return try finalize(model, required)
  }

  /// Every character of the corpus and the initial alphabet, in scalar order (HF iterates a
  /// hash set, so its order, and the tiny penalties it gives absent characters, vary by run).
  func requiredChars(_ words: [(String, Int)]) -> [String] {
    var set = Set<UInt32>()
    for (w, _) in words { for u in w.unicodeScalars { set.insert(u.value) } }
    for a in initialAlphabet { for u in a.unicodeScalars { set.insert(u.value) } }
    return set.sorted().map { String(Unicode.Scalar($0)!) }
  }

  /// Seed pieces: all characters by count, then the substrings (2 ...max_piece_length
  /// characters) that are internal nodes of the suffix tree over the distinct words (seen at
  /// least twice, with two different following characters), by frequency × length; all as
  /// log-probabilities.
  func seeds(_ words: [(String, Int)]) -> [Piece] {
    var chars = [UInt32: Double]()
    struct Entry {
      var freq: Int
      var next: UInt32
      var branching: Bool
    }
    var subs = [[UInt32]: Entry]()
    for (w, n) in words {
      let s = w.unicodeScalars.map(\.value)
      for c in s where c != 0 { chars[c, default: 0] += Double(n) }
      for i in 0..<s.count {
        var l = 2
        // Substrings holding the "\0" word separator are not pieces.
        while l <= maxPieceLength && i + l <= s.count && s[i] != 0 && s[i + l - 1] != 0 {
          let key = Array(s[i..<(i + l)])
          let next: UInt32 = i + l < s.count ? s[i + l] : 0
          if var e = subs[key] {
            e.freq += 1
            if e.next != next { e.branching = true }
            subs[key] = e
          } else {
            subs[key] = Entry(freq: 1, next: next, branching: false)
          }
          l += 1
        }
      }
    }
    var out: [Piece] = chars.sorted { a, b in a.value != b.value ? a.value > b.value : a.key > b.key
    }
    .map { (String(Unicode.Scalar($0.key)!), $0.value) }
    var ranked = [(score: Int, key: [UInt32])]()
    for (k, e) in subs where e.freq >= 2 && e.branching { ranked.append((e.freq * k.count, k)) }
    ranked.sort { a, b in
      a.score != b.score ? a.score > b.score : b.key.lexicographicallyPrecedes(a.key)
    }
    for r in ranked {
      if out.count >= seedSize { break }
      var v = String.UnicodeScalarView()
      for c in r.key { v.append(Unicode.Scalar(c)!) }
      out.append((String(v), Double(r.score)))
    }
    let logsum = log(out.reduce(0) { $0 + $1.score })
    return out.map { ($0.piece, log($0.score) - logsum) }
  }

  /// Expected piece counts under the current model (forward–backward over each word's lattice).
  func eStep(_ model: Unigram, _ sentences: [Sentence]) -> [Double] {
    let chunks = max(1, min(ProcessInfo.processInfo.activeProcessorCount * 2, sentences.count))
    var partial = [[Double]](repeating: [], count: chunks)
    partial.withUnsafeMutableBufferPointer { pb in
      let out = pb
      DispatchQueue.concurrentPerform(iterations: chunks) { c in
        var expected = [Double](repeating: 0, count: model.pieces.count)
        var lattice = Lattice()
        for i in (sentences.count * c / chunks)..<(sentences.count * (c + 1) / chunks) {
          sentences[i].text.withUnsafeBufferPointer { p in
            lattice.build(model, p)
            lattice.marginals(freq: sentences[i].count, into: &expected)
          }
        }
        out[c] = expected
      }
    }
    var total = [Double](repeating: 0, count: model.pieces.count)
    for p in partial { for i in p.indices { total[i] += p[i] } }
    return total
  }

  /// HF's M step: drop pieces expected fewer than 0.5 times, score the rest with the
  /// Bayesian (digamma) estimate; <UNK> stays first.
  func mStep(_ pieces: [Piece], _ expected: [Double]) -> [Piece] {
    var out: [Piece] = []
    var sum = 0.0
    for (i, p) in pieces.enumerated() {
      if i == 0 {
        out.append((p.piece, .nan))
        continue
      }
      if expected[i] < 0.5 { continue }
      out.append((p.piece, expected[i]))
      sum += expected[i]
    }
    let logsum = digamma(sum)
    return out.map { ($0.piece, digamma($0.score) - logsum) }
  }

  /// HF's `prune_sentence_pieces`: keeps pieces with no alternative segmentation, then those
  /// whose removal loses the most likelihood, down to max(1.1 × vocab_size, shrinking × size).
  func prune(_ model: Unigram, _ pieces: [Piece], _ sentences: [Sentence]) -> [Piece] {
    var alwaysKeep = [Bool](repeating: true, count: pieces.count)
    var alternatives = [[Int]](repeating: [], count: pieces.count)
    var lattice = Lattice()
    for (id, p) in pieces.enumerated() {
      if id == 0 {
        alwaysKeep[id] = false
        continue
      }
      let bytes = Array(p.piece.utf8)
      bytes.withUnsafeBufferPointer { b in
        lattice.build(model, b)
        let best = lattice.viterbi()
        if best.count >= 2 {
          alwaysKeep[id] = false
        } else if let second = lattice.viterbi(excludingWhole: true) {
          alternatives[id] = second
        }
      }
    }
    // Viterbi frequencies and, per piece, the sentences using it (once per use).
    var freq = [Double](repeating: 0, count: pieces.count)
    var inverted = [[Int32]](repeating: [], count: pieces.count)
    var vsum = 0.0
    for (i, s) in sentences.enumerated() {
      vsum += s.count
      s.text.withUnsafeBufferPointer { p in
        lattice.build(model, p)
        for id in lattice.viterbi() {
          freq[id] += s.count
          inverted[id].append(Int32(i))
        }
      }
    }
    let sum = freq.reduce(0, +)
    let logsum = log(sum)
    var candidates = [(Int, Double)]()
    var out: [Piece] = [pieces[0]]
    for id in 1..<pieces.count {
      if freq[id] == 0 && !alwaysKeep[id] { continue }
      if alternatives[id].isEmpty {
        out.append(pieces[id])
        continue
      }
      var f = 0.0
      for n in inverted[id] { f += sentences[Int(n)].count }
      if f == 0 || f.isNaN { continue }
      f /= vsum
      let logprobSp = log(freq[id]) - logsum
      // HF multiplies by the number of pieces less one here (`alternatives.len()`, the outer
      // list), not by the alternative's length as SentencePiece does; kept for parity.
      let logsumAlt = log(sum + freq[id] * Double(pieces.count - 1))
      var logprobAlt = 0.0
      for n in alternatives[id] { logprobAlt += log(freq[n] + freq[id]) - logsumAlt }
      candidates.append((id, f * (logprobSp - logprobAlt)))
    }
    let pruned = max(vocabSize * 11 / 10, Int(Double(pieces.count) * shrinkingFactor))
    // Stable: equal losses keep id order, as Rust's sort_by.
    let order = candidates.enumerated().sorted { a, b in
      a.element.1 != b.element.1 ? a.element.1 > b.element.1 : a.offset < b.offset
    }
    for (_, c) in order {
      if out.count == pruned { break }
      out.append(pieces[c.0])
    }
    return out
  }

  /// HF's `finalize`: required characters first (absent ones just under the lowest score),
  /// then pieces in model order up to the size left by the special tokens, sorted by score.
  func finalize(_ model: Unigram, _ required: [String]) throws -> Unigram {
    var penalty = 0.0
    var pieces: [Piece] = []
    var inserted: Set<String> = ["<UNK>"]
    var existing = [String: Double]()
    for p in model.pieces { existing[p.piece] = p.score }
    for c in required {
      if let s = existing[c] {
        pieces.append((c, s))
      } else {
        pieces.append((c, model.minScore + penalty))
        penalty += 0.0001
      }
      inserted.insert(c)
    }
    var unkId: Int?
    var addUnk = false
    if let unk = unkToken {
      if let i = specialTokens.firstIndex(of: unk) {
        unkId = i
      } else {
        (unkId, addUnk) = (0, true)
      }
    }
    let room = vocabSize - specialTokens.count - (addUnk ? 1 : 0)
    for p in model.pieces where !inserted.contains(p.piece) {
      inserted.insert(p.piece)
      pieces.append((p.piece, p.score.isNaN ? 0 : p.score))
      if pieces.count == room { break }
    }
    let sorted = pieces.enumerated().sorted { a, b in
      a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
    }.map(\.element)
    var specials: [Piece] = specialTokens.map { ($0, 0) }
    if addUnk, let u = unkToken { specials.insert((u, 0), at: 0) }
    return try Unigram(pieces: specials + sorted, unkId: unkId)
  }
}

/// HF's digamma (asymptotic series after shifting x above 7).
func digamma(_ x0: Double) -> Double {
  var x = x0
  var r = 0.0
  while x < 7 {
    r -= 1 / x
    x += 1
  }
  x -= 0.5
  let xx = 1 / x
  let xx2 = xx * xx
  let xx4 = xx2 * xx2
  r += log(x) + xx2 / 24 - 7.0 / 960 * xx4 + 31.0 / 8064 * xx4 * xx2 - 127.0 / 30720 * xx4 * xx4
  return r
}

/// The segmentation lattice of one word: nodes by start (then length), an unknown node where
/// no single-character piece starts, as HF's `populate_nodes`.
struct Lattice {
  var start = [Int32]()
  var end = [Int32]()
  var id = [Int32]()
  var score = [Double]()
  var n = 0
  private var alpha = [Double]()
  private var beta = [Double]()
  private var set = [Bool]()

  mutating func build(_ model: Unigram, _ p: UnsafeBufferPointer<UInt8>) {
    start.removeAll(keepingCapacity: true)
    end.removeAll(keepingCapacity: true)
    id.removeAll(keepingCapacity: true)
    score.removeAll(keepingCapacity: true)
    n = p.count
    let unkScore = model.minScore - 10
    var pos = 0
    while pos < n {
      let mblen = decodeScalar(p, pos).1
      var single = false
      let s = pos
      model.trie.prefixes(p, from: pos) { e, pid in
        start.append(Int32(s))
        end.append(Int32(e))
        id.append(Int32(pid))
        score.append(model.pieces[Int(pid)].score)
        if e - s == mblen { single = true }
      }
      if !single, let u = model.unkId {
        start.append(Int32(pos))
        end.append(Int32(pos + mblen))
        id.append(Int32(u))
        score.append(unkScore)
      }
      pos += mblen
    }
  }

  /// HF's `log_sum_exp` (exact within 50 nats).
  @inline(__always)
  private static func lse(_ x: Double, _ y: Double) -> Double {
    let (lo, hi) = x < y ? (x, y) : (y, x)
    return hi > lo + 50 ? hi : hi + log(exp(lo - hi) + 1)
  }

  /// Adds freq × each node's marginal probability to `expected`; returns freq × log Z.
  @discardableResult
  mutating func marginals(freq: Double, into expected: inout [Double]) -> Double {
    alpha = [Double](repeating: 0, count: n + 1)
    beta = [Double](repeating: 0, count: n + 1)
    set = [Bool](repeating: false, count: n + 1)
    set[0] = true
    for k in 0..<start.count {
      let a = alpha[Int(start[k])] + score[k]
      let e = Int(end[k])
      alpha[e] = set[e] ? Lattice.lse(alpha[e], a) : a
      set[e] = true
    }
    set = [Bool](repeating: false, count: n + 1)
    set[n] = true
    for k in stride(from: start.count - 1, through: 0, by: -1) {
      let b = beta[Int(end[k])] + score[k]
      let s = Int(start[k])
      beta[s] = set[s] ? Lattice.lse(beta[s], b) : b
      set[s] = true
    }
    let z = alpha[n]
    for k in 0..<start.count {
      expected[Int(id[k])] += freq * exp(alpha[Int(start[k])] + score[k] + beta[Int(end[k])] - z)
    }
    return freq * z
  }

  /// Piece ids of the best path (ties: the longest last piece, as HF's lattice). With
  /// `excludingWhole`, paths of one node spanning everything are barred (the second best of a
  /// piece's own lattice); nil when no other path exists.
  func viterbi(excludingWhole: Bool = false) -> [Int]? {
    var best = [Double](repeating: -.infinity, count: n + 1)
    var back = [Int](repeating: -1, count: n + 1)
    best[0] = 0
    // Nodes are in start order, so best[start] is final when a node is reached.
    for k in 0..<start.count {
      let s = Int(start[k])
      let e = Int(end[k])
      if excludingWhole && s == 0 && e == n { continue }
      guard s == 0 || back[s] >= 0 else { continue }
      let c = best[s] + score[k]
      if back[e] < 0 || c > best[e] || (c == best[e] && s < Int(start[back[e]])) {
        best[e] = c
        back[e] = k
      }
    }
    if n > 0 && back[n] < 0 { return nil }
    var ids = [Int]()
    var e = n
    while e > 0 {
      let k = back[e]
      ids.append(Int(id[k]))
      e = Int(start[k])
    }
    return ids.reversed()
  }

  func viterbi() -> [Int] { viterbi(excludingWhole: false) ?? [] }
}
