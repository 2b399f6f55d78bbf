import Foundation

/// Score processors applied to one row of next-token scores, in Hugging Face's order:
/// repetition penalty, n-gram blocking, bad words, minimum length, forced BOS/EOS, suppressed
/// tokens; then (sampling only) temperature, top-k, top-p, min-p.
struct LogitsProcessors {
  let config: GenerationConfig
  /// The total length generation stops at (forced EOS goes at maxLength − 1).
  var maxLength: Int? = nil

  func process(_ scores: inout [Float], history: [Int], generatedCount: Int) {
    if config.repetitionPenalty != 1 {
      let p = Float(config.repetitionPenalty)
      for t in Set(history) {
        let s = scores[t]
        scores[t] = s < 0 ? s * p : s / p
      }
    }
    let n = config.noRepeatNgramSize
    if n > 0 && history.count + 1 >= n {
      for t in bannedNgramTokens(history, n) { scores[t] = -.infinity }
    }
    for bad in config.badWordsIds where !bad.isEmpty {
      let prefix = bad.dropLast()
      if prefix.isEmpty || history.suffix(prefix.count).elementsEqual(prefix) { scores[bad.last!] = -.infinity }
    }
    if generatedCount < config.minNewTokens || history.count < config.minLength {
      for e in config.eosTokenIds { scores[e] = -.infinity }
    }
    // Forced tokens: every other score −inf, the forced one 0 (HF's ForcedBOS/EOS processors;
    // the length counts the decoder start or prompt tokens in `history`).
    if let bos = config.forcedBosTokenId, history.count == 1 { force(&scores, bos) }
    if let eos = config.forcedEosTokenId, let m = maxLength, history.count == m - 1 { force(&scores, eos) }
    for t in config.suppressTokens where t >= 0 && t < scores.count { scores[t] = -.infinity }
  }

  func force(_ scores: inout [Float], _ token: Int) {
    for i in scores.indices { scores[i] = -.infinity }
    scores[token] = 0
  }

  /// Tokens that would repeat an n-gram already in `history`.
  func bannedNgramTokens(_ history: [Int], _ n: Int) -> [Int] {
    if n == 1 { return Array(Set(history)) }
    let key = Array(history.suffix(n - 1))
    var banned: [Int] = []
    if history.count < n { return banned }
    for start in 0...(history.count - n) where Array(history[start..<(start + n - 1)]) == key {
      banned.append(history[start + n - 1])
    }
    return banned
  }

  func warp(_ scores: inout [Float]) {
    if config.temperature != 1 {
      let t = Float(config.temperature)
      for i in scores.indices { scores[i] /= t }
    }
    if config.topK > 0 && config.topK < scores.count {
      let kth = scores.sorted(by: >)[config.topK - 1]
      for i in scores.indices where scores[i] < kth { scores[i] = -.infinity }
    }
    if config.topP < 1 {
      // Ascending order; drop the low tail whose cumulative probability <= 1 - top_p,
      // always keeping the most likely token.
      let order = scores.indices.sorted { scores[$0] < scores[$1] }
      let probs = softmax(order.map { scores[$0] })
      var cumulative: Float = 0
      for (rank, i) in order.enumerated() {
        cumulative += probs[rank]
        if cumulative <= Float(1 - config.topP) && rank < order.count - 1 { scores[i] = -.infinity }
      }
    }
    if let minP = config.minP {
      let probs = softmax(scores)
      let threshold = Float(minP) * (probs.max() ?? 0)
      for i in scores.indices where probs[i] < threshold { scores[i] = -.infinity }
    }
  }
}

func softmax(_ x: [Float]) -> [Float] {
  let m = x.max() ?? 0
  if m == -.infinity { return x.map { _ in 0 } }
  let e = x.map { Foundation.exp($0 - m) }
  let s = e.reduce(0, +)
  return e.map { $0 / s }
}

func logSoftmax(_ x: [Float]) -> [Float] {
  let m = x.max() ?? 0
  var s: Double = 0
  for v in x { s += Double(Foundation.exp(v - m)) }
  let lse = m + Float(Foundation.log(s))
  return x.map { $0 - lse }
}
