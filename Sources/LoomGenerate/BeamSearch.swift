import Foundation
import LoomCore
import LoomModels

extension Generation {
  /// Beam search following transformers' vectorised implementation step for step:
  /// keep the top K = max(2, 1 + #eos) · beams continuations by accumulated
  /// log-probability, continue with the best `numBeams` that did not stop, and move
  /// stopped ones among the top `numBeams` into the finished set with a length penalty.
  static func beamSearch(
    _ model: any CausalLanguageModel, ids prompts: [[Int]], mask promptMask: [[Int]]?, maxLength: Int,
    config: GenerationConfig, pad: Int
  ) throws -> [[Int]] {
    let beams = config.numBeams
    let batch = prompts.count
    let promptLength = prompts[0].count
    let vocab = model.vocabularySize
    let keep = max(2, 1 + config.eosTokenIds.count) * beams
    let processors = LogitsProcessors(config: config)
    let veryNegative: Float = -1.0e9
    let lp = Float(config.lengthPenalty)

    struct Hypothesis { var tokens: [Int]; var score: Float; var finished: Bool }
    // Running beams per batch item, flattened as [batch · beams] for the model.
    var running: [[Int]] = prompts.flatMap { Array(repeating: $0, count: beams) }
    var runningScores = [Float](repeating: 0, count: batch * beams)
    for b in 0..<batch { for i in 1..<beams { runningScores[b * beams + i] = -1e9 } }
    var finished: [[Hypothesis]] = (0..<batch).map { _ in
      Array(repeating: Hypothesis(tokens: [], score: veryNegative, finished: false), count: beams)
    }
    var improvable = [Bool](repeating: true, count: batch)
    var mask = promptMask.map { $0.flatMap { Array(repeating: $0, count: beams) } }
    let caches = model.makeCaches(batch: batch * beams, capacity: maxLength)
    var input = running
    var curLen = promptLength

    try noGrad {
      while curLen < maxLength {
        let logits = model.logits(ids: tensor(input), attentionMask: mask.map(tensor), caches: caches)
        let rows = lastLogits(logits)
        var nextRunning: [[Int]] = []
        var nextScores: [Float] = []
        var origins: [Int] = []
        var allStopped = true
        for b in 0..<batch {
          // Accumulated log-probabilities of every (beam, token) continuation.
          var flat = [Float](repeating: 0, count: beams * vocab)
          for i in 0..<beams {
            var lpRow = logSoftmax(rows[b * beams + i])
            processors.process(&lpRow, history: running[b * beams + i], generatedCount: curLen - promptLength)
            let base = runningScores[b * beams + i]
            for v in 0..<vocab { flat[i * vocab + v] = lpRow[v] + base }
          }
          let top = topK(flat, keep)
          var candidates: [(tokens: [Int], score: Float, origin: Int, stops: Bool)] = []
          for idx in top {
            let beam = idx / vocab, token = idx % vocab
            let tokens = running[b * beams + beam] + [token]
            let stops = config.eosTokenIds.contains(token) || curLen + 1 >= maxLength
            candidates.append((tokens, flat[idx], b * beams + beam, stops))
          }
          if !candidates.allSatisfy(\.stops) { allStopped = false }
          // Continue with the best `beams` candidates that did not stop.
          let order = candidates.indices.sorted {
            let a = candidates[$0].score + (candidates[$0].stops ? veryNegative : 0)
            let c = candidates[$1].score + (candidates[$1].stops ? veryNegative : 0)
            return a != c ? a > c : $0 < $1
          }
          for j in order.prefix(beams) {
            nextRunning.append(candidates[j].tokens)
            nextScores.append(candidates[j].score + (candidates[j].stops ? veryNegative : 0))
            origins.append(candidates[j].origin)
          }
          // Finished set: merge stopped top-`beams` candidates, keep the best `beams`.
          let full = finished[b].allSatisfy(\.finished) && config.earlyStopping == .enabled
          var merged = finished[b]
          for (rank, c) in candidates.enumerated() {
            var score = c.score / Float(pow(Double(curLen + 1 - promptLength), Double(lp)))
            if full { score += veryNegative }
            if !improvable[b] { score += veryNegative }
            let justFinished = c.stops && rank < beams
            if !justFinished { score += veryNegative }
            merged.append(Hypothesis(tokens: c.tokens, score: score, finished: justFinished))
          }
          let best = merged.indices.sorted { merged[$0].score != merged[$1].score ? merged[$0].score > merged[$1].score : $0 < $1 }
          finished[b] = best.prefix(beams).map { merged[$0] }
        }
        running = nextRunning
        runningScores = nextScores
        for cache in caches { cache.reorder(Tensor(origins.map { Int64($0) })) }
        if mask != nil { mask = origins.map { mask![$0] + [1] } }
        input = running.map { [$0.last!] }
        curLen += 1
        // Can a running beam still beat the worst finished one?
        var anyImprovable = false
        for b in 0..<batch {
          let length: Double =
            (config.earlyStopping == .never && lp > 0) ? Double(maxLength - promptLength) : Double(curLen - promptLength)
          let bestPossible = runningScores[b * beams] / Float(pow(length, Double(lp)))
          let worst = finished[b].map(\.score).min() ?? veryNegative
          let beatsAny = finished[b].contains { h in bestPossible > (h.finished ? worst : veryNegative) }
          improvable[b] = improvable[b] && beatsAny
          if improvable[b] { anyImprovable = true }
        }
        let allFull = finished.allSatisfy { $0.allSatisfy(\.finished) } && config.earlyStopping == .enabled
        if !anyImprovable || allFull || allStopped { break }
      }
    }
    var outputs: [[Int]] = []
    for b in 0..<batch {
      for h in finished[b].prefix(config.numReturnSequences) { outputs.append(h.tokens) }
    }
    let width = outputs.map(\.count).max() ?? promptLength
    return outputs.map { $0 + [Int](repeating: pad, count: width - $0.count) }
  }

  /// Indices of the k largest values, largest first (ties: lower index first).
  static func topK(_ values: [Float], _ k: Int) -> [Int] {
    var heap: [(Float, Int)] = []
    heap.reserveCapacity(k + 1)
    for (i, v) in values.enumerated() {
      if heap.count < k {
        heap.append((v, i))
        if heap.count == k { heap.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 } }
      } else if v > heap[k - 1].0 {
        var j = k - 1
        while j > 0 && heap[j - 1].0 < v { j -= 1 }
        heap.insert((v, i), at: j)
        heap.removeLast()
      }
    }
    if heap.count < k { heap.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 } }
    return heap.map(\.1)
  }
}
