import Foundation
import LoomCore

/// BART's noising, as fairseq's `DenoisingDataset` (which the BART paper trained with) applies
/// it to one example `<s> … </s>` (the first and last token are never touched), in fairseq's
/// order: sentence permutation, masking (text infilling or token masking), then token deletion
/// and document rotation. The target is the original ids.
///
/// Defaults are BART-large's recipe (the paper's best: text infilling + sentence permutation;
/// fairseq's flags `--mask 0.3 --mask-random 0.1 --permute-sentences 1.0 --rotate 0.0
/// --mask-length span-poisson --replace-length 1 --poisson-lambda 3`).
public struct BartDenoising: Seq2SeqNoise {
  /// fairseq's `--mask-length`: what one masking unit is.
  public enum MaskLength: String, CaseIterable, Sendable {
    /// Text infilling: spans of Poisson(λ) words, each replaced by one mask (0-length spans
    /// insert a mask).
    case spanPoisson = "span-poisson"
    /// Token masking: single tokens, each replaced by a mask.
    case subword
    /// Whole-word masking: every token of a chosen word is masked.
    case word
  }

  public let maskTokenId: Int
  public let vocabSize: Int
  /// Tokens that end a sentence (fairseq: GPT-2's "."), for sentence permutation.
  public var fullStopIds: Set<Int>
  /// Tokens that continue the previous token's word (byte-level BPE: no leading "Ġ"); masking
  /// counts and spans whole words, as fairseq's `mask_whole_words`. Empty: every token is a word.
  public var continuationTokenIds: Set<Int>
  /// Fraction of words masked (fairseq `--mask`).
  public var maskRatio = 0.3
  /// Fraction of masks that become a random token instead (fairseq `--mask-random`).
  public var randomRatio = 0.1
  /// Fraction of tokens deleted (the paper's token deletion; fairseq's `--replace-length 0`).
  public var deleteRatio = 0.0
  /// Fraction of sentences shuffled (fairseq `--permute-sentences`).
  public var permuteSentenceRatio = 1.0
  /// Probability of rotating the document to start at a random token (fairseq `--rotate`).
  public var rotateRatio = 0.0
  /// Mean span length for text infilling (fairseq `--poisson-lambda`; the paper's λ = 3).
  public var poissonLambda = 3.0
  public var maskLength = MaskLength.spanPoisson
  /// P(span length ≤ k) for k = 0…127 (fairseq's truncated Poisson).
  let spanCDF: [Double]

  public init(
    maskTokenId: Int, vocabSize: Int, fullStopIds: Set<Int>, continuationTokenIds: Set<Int> = [],
    maskRatio: Double = 0.3, randomRatio: Double = 0.1, deleteRatio: Double = 0.0,
    permuteSentenceRatio: Double = 1.0, rotateRatio: Double = 0.0, poissonLambda: Double = 3.0,
    maskLength: MaskLength = .spanPoisson
  ) throws {
    for (name, v) in [
      ("mask_ratio", maskRatio), ("random_ratio", randomRatio), ("delete_ratio", deleteRatio),
      ("permute_sentence_ratio", permuteSentenceRatio), ("rotate_ratio", rotateRatio),
    ] where !(0...1).contains(v) {
      throw LoomError("BART denoising: \(name) must be in [0, 1], got \(v)")
    }
    guard poissonLambda > 0, poissonLambda <= 100 || maskLength != .spanPoisson else {
      throw LoomError("BART denoising: poisson_lambda must be in (0, 100], got \(poissonLambda)")
    }
    guard vocabSize > 1, (0..<vocabSize).contains(maskTokenId) else {
      throw LoomError("BART denoising: mask token id \(maskTokenId) is outside the vocabulary of \(vocabSize)")
    }
    self.maskTokenId = maskTokenId
    self.vocabSize = vocabSize
    self.fullStopIds = fullStopIds
    self.continuationTokenIds = continuationTokenIds
    self.maskRatio = maskRatio
    self.randomRatio = randomRatio
    self.deleteRatio = deleteRatio
    self.permuteSentenceRatio = permuteSentenceRatio
    self.rotateRatio = rotateRatio
    self.poissonLambda = poissonLambda
    self.maskLength = maskLength
    // fairseq: lambda^k e^-lambda / k! for k < 128, normalised by Categorical.
    var pmf = [Double]()
    var logFactorial = 0.0
    for k in 0..<128 {
      if k > 0 { logFactorial += log(Double(k)) }
      pmf.append(exp(Double(k) * log(poissonLambda) - poissonLambda - logFactorial))
    }
    let total = pmf.reduce(0, +)
    var cdf = [Double](), run = 0.0
    for p in pmf {
      run += p / total
      cdf.append(run)
    }
    spanCDF = cdf
  }

  public func apply(_ tokens: [Int], generator g: Generator) -> (source: [Int], target: [Int]) {
    var source = tokens
    if tokens.count < 3 { return (source, tokens) }
    if permuteSentenceRatio > 0 { source = permuteSentences(source, g) }
    if maskRatio > 0 { source = addWholeWordMask(source, g) }
    if deleteRatio > 0 { source = deleteTokens(source, g) }
    if rotateRatio > 0, g.nextDouble() < rotateRatio { source = rotate(source, g) }
    return (source, tokens)
  }

  func randomToken(_ g: Generator) -> Int { 1 + g.nextInt(below: vocabSize - 1) }

  func spanLength(_ g: Generator) -> Int {
    let u = g.nextDouble()
    return spanCDF.firstIndex { u < $0 } ?? spanCDF.count - 1
  }

  /// fairseq's `permute_sentences`: sentences end after a full stop (the token before `</s>`
  /// counts as one); `ceil(n·p)` of them trade places.
  func permuteSentences(_ source: [Int], _ g: Generator) -> [Int] {
    let n = source.count
    var stops = source.map { fullStopIds.contains($0) }
    stops[n - 2] = true
    var ends = [Int]()
    for j in 0..<(n - 1) where stops[j + 1] && !stops[j] { ends.append(j + 2) }
    let count = ends.count
    let k = Int((Double(count) * permuteSentenceRatio).rounded(.up))
    let substitutions = Array(g.permutation(count).prefix(k))
    var ordering = Array(0..<count)
    let shuffled = g.permutation(k)
    for (j, s) in substitutions.enumerated() { ordering[s] = substitutions[shuffled[j]] }
    var result = source
    var index = 1
    for i in ordering {
      let sentence = source[(i > 0 ? ends[i - 1] : 1)..<ends[i]]
      result.replaceSubrange(index..<(index + sentence.count), with: sentence)
      index += sentence.count
    }
    return result
  }

  /// fairseq's `add_whole_word_mask` with `replace_length` 1 for spans (one mask per span) and
  /// −1 for single tokens and words (a mask per token).
  func addWholeWordMask(_ input: [Int], _ g: Generator) -> [Int] {
    var source = input
    let n = source.count
    var isStart = source.map { maskLength == .subword || !continuationTokenIds.contains($0) }
    isStart[0] = false
    isStart[n - 1] = false
    let starts = isStart.indices.filter { isStart[$0] }
    var numToMask = Int((Double(starts.count) * maskRatio).rounded(.up))
    if numToMask == 0 { return source }
    var lengths: [Int]
    var numInserts = 0
    if maskLength == .spanPoisson {
      // Spans until the budget is covered, the last one trimmed to it.
      lengths = []
      var covered = 0
      while covered < numToMask {
        let l = spanLength(g)
        lengths.append(min(l, numToMask - covered))
        covered += l
      }
      let spans = lengths.count
      lengths.removeAll { $0 == 0 }
      numInserts = spans - lengths.count
      numToMask = lengths.count
      if numToMask == 0 { return addInsertionNoise(source, Double(numInserts) / Double(n), g) }
    } else {
      lengths = [Int](repeating: 1, count: numToMask)
    }
    numToMask = min(numToMask, starts.count)
    var indices = g.permutation(starts.count).prefix(numToMask).map { starts[$0] }
    var random = indices.map { _ in g.nextDouble() < randomRatio }
    lengths = Array(lengths.prefix(numToMask))
    var keep = [Bool](repeating: true, count: n)
    func mask(_ i: Int, _ r: Bool) { source[i] = r ? randomToken(g) : maskTokenId }
    for (i, r) in zip(indices, random) { mask(i, r) }
    // The end of the document stops every span (fairseq sets is_word_start[-1] = 255).
    func startWeight(_ i: Int) -> Int { i == n - 1 ? 255 : (isStart[i] ? 1 : 0) }
    if maskLength == .spanPoisson {
      var remaining = lengths.map { $0 - 1 }
      while !indices.isEmpty {
        var next = [Int](), nextRandom = [Bool](), nextRemaining = [Int]()
        for (j, i) in indices.enumerated() {
          let left = remaining[j] - startWeight(i + 1)
          guard left >= 0 else { continue }
          keep[i + 1] = false
          next.append(i + 1)
          nextRandom.append(random[j])
          nextRemaining.append(left)
        }
        (indices, random, remaining) = (next, nextRandom, nextRemaining)
      }
    } else {
      while !indices.isEmpty {
        var next = [Int](), nextRandom = [Bool]()
        for (j, i) in indices.enumerated() where startWeight(i + 1) == 0 {
          mask(i + 1, random[j])
          next.append(i + 1)
          nextRandom.append(random[j])
        }
        (indices, random) = (next, nextRandom)
      }
    }
    source = source.indices.filter { keep[$0] }.map { source[$0] }
    if numInserts > 0 { source = addInsertionNoise(source, Double(numInserts) / Double(source.count), g) }
    return source
  }

  /// fairseq's `add_insertion_noise`: `ceil(n·p)` masks (a `random_ratio` share random tokens)
  /// inserted at random places between the first and last token.
  func addInsertionNoise(_ tokens: [Int], _ p: Double, _ g: Generator) -> [Int] {
    let n = tokens.count
    let k = Int((Double(n) * p).rounded(.up))
    guard k > 0 else { return tokens }
    let noise = g.permutation(n + k - 2).prefix(k).map { $0 + 1 }
    let numRandom = Int((Double(k) * randomRatio).rounded(.up))
    var result = [Int?](repeating: nil, count: n + k)
    for (j, i) in noise.enumerated() { result[i] = j < numRandom ? randomToken(g) : maskTokenId }
    var next = 0
    for i in result.indices where result[i] == nil {
      result[i] = tokens[next]
      next += 1
    }
    return result.map { $0! }
  }

  /// The paper's token deletion: `ceil((n−2)·p)` random tokens, never the first or last, removed.
  func deleteTokens(_ tokens: [Int], _ g: Generator) -> [Int] {
    let n = tokens.count
    guard n > 2 else { return tokens }
    let k = min(n - 2, Int((Double(n - 2) * deleteRatio).rounded(.up)))
    let drop = Set(g.permutation(n - 2).prefix(k).map { $0 + 1 })
    return tokens.indices.filter { !drop.contains($0) }.map { tokens[$0] }
  }

  /// fairseq's `add_rolling_noise`: the body starts at a random token and wraps around.
  func rotate(_ tokens: [Int], _ g: Generator) -> [Int] {
    let n = tokens.count
    let offset = 1 + g.nextInt(below: max(1, n - 1))
    return [tokens[0]] + tokens[offset..<(n - 1)] + tokens[1..<offset] + [tokens[n - 1]]
  }
}
