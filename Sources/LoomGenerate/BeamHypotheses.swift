import Foundation

/// Scores at or below this mark a slot that holds no finished hypothesis (HF's −1e9).
let beamNegative: Float = -1.0e9

/// One batch item's finished hypotheses (HF's `BeamHypotheses`): `numBeams` slots
/// ranked by length-penalised score `sum_logprobs / generated_length ^ length_penalty`,
/// empty slots scoring −1e9, and whether a running beam can still improve them.
public struct BeamHypotheses: Sendable {
  public struct Hypothesis: Equatable, Sendable {
    public var tokens: [Int]
    public var score: Float
    public var finished: Bool
  }

  public let numBeams: Int
  public let lengthPenalty: Float
  public let earlyStopping: GenerationConfig.EarlyStopping
  /// Best first; `finished == false` marks an empty slot.
  public private(set) var slots: [Hypothesis]
  /// False once no running beam can beat the worst finished hypothesis.
  public private(set) var improvable = true

  public init(numBeams: Int, lengthPenalty: Double, earlyStopping: GenerationConfig.EarlyStopping) {
    self.numBeams = numBeams
    self.lengthPenalty = Float(lengthPenalty)
    self.earlyStopping = earlyStopping
    slots = Array(
      repeating: Hypothesis(tokens: [], score: beamNegative, finished: false), count: numBeams)
  }

  /// Every slot holds a finished hypothesis.
  public var isFull: Bool { slots.allSatisfy(\.finished) }
  public var finished: [Hypothesis] { slots.filter(\.finished) }

  /// The length-penalised score of a hypothesis with `generatedLength` new tokens.
  public func score(_ sumLogProbs: Float, generatedLength: Int) -> Float {
    sumLogProbs / Float(pow(Double(generatedLength), Double(lengthPenalty)))
  }

  /// Merges one step's candidates (best first, `generatedLength` new tokens each):
  /// those that stopped among the first `numBeams` join unless the set is closed
  /// (full with early stopping, or no longer improvable); the best `numBeams` stay.
  public mutating func add(
    _ candidates: [(tokens: [Int], score: Float, stops: Bool)], generatedLength: Int
  ) {
    let closed = isFull && earlyStopping == .enabled
    var merged = slots
    for (rank, c) in candidates.enumerated() {
      var s = score(c.score, generatedLength: generatedLength)
      if closed { s += beamNegative }
      if !improvable { s += beamNegative }
      let justFinished = c.stops && rank < numBeams
      if !justFinished { s += beamNegative }
      merged.append(Hypothesis(tokens: c.tokens, score: s, finished: justFinished))
    }
    let best = merged.indices.sorted {
      merged[$0].score != merged[$1].score ? merged[$0].score > merged[$1].score : $0 < $1
    }
    slots = best.prefix(numBeams).map { merged[$0] }
  }

  /// Whether the best running beam (accumulated `bestRunningScore`) can still beat a
  /// finished hypothesis: scored at the current length, or with `early_stopping="never"`
  /// and a positive length penalty at the longest possible one. Once false it stays.
  public mutating func updateImprovable(
    bestRunningScore: Float, generatedLength: Int, maxGeneratedLength: Int
  ) {
    let length =
      (earlyStopping == .never && lengthPenalty > 0)
      ? Double(maxGeneratedLength) : Double(generatedLength)
    let bestPossible = bestRunningScore / Float(pow(length, Double(lengthPenalty)))
    let worst = slots.map(\.score).min() ?? beamNegative
    let beatsAny = slots.contains { h in bestPossible > (h.finished ? worst : beamNegative) }
    improvable = improvable && beatsAny
  }
}

/// Beam bookkeeping for a batch (HF's `BeamSearchScorer`): picks the running beams
/// for the next step from the selected candidates and files finished hypotheses.
public struct BeamSearchScorer: Sendable {
  public let numBeams: Int
  public let promptLength: Int
  public let maxLength: Int
  public let eosTokenIds: [Int]
  public private(set) var hypotheses: [BeamHypotheses]

  public init(batchSize: Int, promptLength: Int, maxLength: Int, config: GenerationConfig) {
    numBeams = config.numBeams
    self.promptLength = promptLength
    self.maxLength = maxLength
    eosTokenIds = config.eosTokenIds
    hypotheses = (0..<batchSize).map { _ in
      BeamHypotheses(
        numBeams: config.numBeams, lengthPenalty: config.lengthPenalty,
        earlyStopping: config.earlyStopping)
    }
  }

  /// One step: `candidates[b]` are item b's selected continuations (best first) of the
  /// `running` rows [batch · beams] at length `curLen`. Returns the next running rows,
  /// their scores (−1e9 added to stopped ones), the row each came from, and whether
  /// every candidate stopped.
  public mutating func process(_ candidates: [[BeamCandidate]], running: [[Int]], curLen: Int) -> (
    running: [[Int]], scores: [Float], origins: [Int], allStopped: Bool
  ) {
    var nextRunning: [[Int]] = []
    var nextScores: [Float] = []
    var origins: [Int] = []
    var allStopped = true
    for (b, items) in candidates.enumerated() {
      let scored = items.map { c -> (tokens: [Int], score: Float, origin: Int, stops: Bool) in
        let origin = b * numBeams + c.beam
        let stops = eosTokenIds.contains(c.token) || curLen + 1 >= maxLength
        return (running[origin] + [c.token], c.score, origin, stops)
      }
      if !scored.allSatisfy(\.stops) { allStopped = false }
      // Continue with the best `numBeams` candidates that did not stop.
      let order = scored.indices.sorted {
        let a = scored[$0].score + (scored[$0].stops ? beamNegative : 0)
        let c = scored[$1].score + (scored[$1].stops ? beamNegative : 0)
        return a != c ? a > c : $0 < $1
      }
      for j in order.prefix(numBeams) {
        nextRunning.append(scored[j].tokens)
        nextScores.append(scored[j].score + (scored[j].stops ? beamNegative : 0))
        origins.append(scored[j].origin)
      }
      hypotheses[b].add(
        scored.map { ($0.tokens, $0.score, $0.stops) }, generatedLength: curLen + 1 - promptLength)
    }
    return (nextRunning, nextScores, origins, allStopped)
  }

  /// After a step (`curLen` now counts the new token): updates whether each item can improve.
  public mutating func updateImprovable(runningScores: [Float], curLen: Int) {
    for b in hypotheses.indices {
      hypotheses[b].updateImprovable(
        bestRunningScore: runningScores[b * numBeams], generatedLength: curLen - promptLength,
        maxGeneratedLength: maxLength - promptLength)
    }
  }

  /// No item can improve, or (early stopping) every item has `numBeams` finished.
  public var isDone: Bool {
    hypotheses.allSatisfy { !$0.improvable }
      || (hypotheses.allSatisfy(\.isFull) && hypotheses.first?.earlyStopping == .enabled)
  }

  /// The best `numReturnSequences` hypotheses per item, padded to a common length.
  public func finalize(numReturnSequences: Int, pad: Int) -> [[Int]] {
    var outputs: [[Int]] = []
    for h in hypotheses {
      for slot in h.slots.prefix(numReturnSequences) { outputs.append(slot.tokens) }
    }
    let width = outputs.map(\.count).max() ?? promptLength
    return outputs.map { $0 + [Int](repeating: pad, count: width - $0.count) }
  }
}
