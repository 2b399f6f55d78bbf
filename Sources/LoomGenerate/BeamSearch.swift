import Foundation
import LoomCore
import LoomNN

extension Generation {
  /// Beam search following transformers' vectorised `_beam_search` step for step:
  /// candidate selection (`beamCandidates`: the top K = max(2, 1 + #eos) · beams
  /// continuations by accumulated log-probability), then bookkeeping
  /// (`BeamSearchScorer`: continue with the best `numBeams` that did not stop, move
  /// stopped ones among the top `numBeams` into each item's `BeamHypotheses`).
  static func beamSearch(
    _ decoder: Decoder, ids prompts: [[Int]], mask promptMask: [[Int]]?, maxLength: Int,
    capacity: Int,
    config: GenerationConfig, pad: Int
  ) throws -> [[Int]] {
    let beams = config.numBeams
    let batch = prompts.count
    let promptLength = prompts[0].count
    let keep = max(2, 1 + config.eosTokenIds.count) * beams
    let processors = LogitsProcessors(config: config, maxLength: maxLength)
    var scorer = BeamSearchScorer(
      batchSize: batch, promptLength: promptLength, maxLength: maxLength, config: config)
    // Running beams per batch item, flattened as [batch · beams] for the model.
    var running: [[Int]] = prompts.flatMap { Array(repeating: $0, count: beams) }
    var runningScores = [Float](repeating: 0, count: batch * beams)
    for b in 0..<batch { for i in 1..<beams { runningScores[b * beams + i] = -1e9 } }
    var mask = promptMask.map { $0.flatMap { Array(repeating: $0, count: beams) } }
    let state = decoder.makeState(beams, capacity)
    var input = running
    var curLen = promptLength

    noGrad {
      while curLen < maxLength {
        let logits = decoder.logits(state: state, ids: running, input: input, mask: mask)
        let rows = lastLogits(logits)
        let candidates = (0..<batch).map { b in
          let logProbs = (0..<beams).map { i in
            var lp = logSoftmax(rows[b * beams + i])
            processors.process(
              &lp, history: running[b * beams + i], generatedCount: curLen - promptLength)
            return lp
          }
          return beamCandidates(
            logProbs: logProbs, beamScores: Array(runningScores[(b * beams)..<((b + 1) * beams)]),
            count: keep)
        }
        let step = scorer.process(candidates, running: running, curLen: curLen)
        running = step.running
        runningScores = step.scores
        state.reorder(beams: step.origins)
        if mask != nil { mask = step.origins.map { mask![$0] + [1] } }
        input = running.map { [$0.last!] }
        curLen += 1
        scorer.updateImprovable(runningScores: runningScores, curLen: curLen)
        if scorer.isDone || step.allStopped { break }
      }
    }
    return scorer.finalize(numReturnSequences: config.numReturnSequences, pad: pad)
  }

  /// Candidate selection, like the `topk` step of HF's `_beam_search`: the `count`
  /// best continuations (beam, token) of one batch item by accumulated log-probability
  /// `beamScores[beam] + logProbs[beam][token]` over beams × vocab, best first (ties:
  /// lower beam·vocab + token first).
  public static func beamCandidates(logProbs: [[Float]], beamScores: [Float], count: Int)
    -> [BeamCandidate]
  {
    let vocab = logProbs.first?.count ?? 0
    var flat = [Float](repeating: 0, count: logProbs.count * vocab)
    for (i, row) in logProbs.enumerated() {
      let base = beamScores[i]
      for v in 0..<vocab { flat[i * vocab + v] = row[v] + base }
    }
    return topK(flat, min(count, flat.count)).map {
      BeamCandidate(beam: $0 / vocab, token: $0 % vocab, score: flat[$0])
    }
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

/// A continuation beam search may keep: beam `beam` of its batch item extended by
/// `token`, with the accumulated log-probability `score`.
public struct BeamCandidate: Equatable, Sendable {
  public var beam: Int
  public var token: Int
  public var score: Float
  public init(beam: Int, token: Int, score: Float) {
    (self.beam, self.token, self.score) = (beam, token, score)
  }
}
