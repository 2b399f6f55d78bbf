import Foundation
import LoomGenerate
import XCTest

/// Beam search's two halves: candidate selection over beams × vocab and the
/// hypothesis bookkeeping (length penalty, early stopping, finished hypotheses).
final class BeamSearchTests: XCTestCase {
  override func setUp() { TestDevice.apply() }
  func testCandidatesAreTheBestAccumulatedContinuations() {
    let logProbs: [[Float]] = [[-1, -2, -0.5], [-0.125, -3, -4]]
    let c = Generation.beamCandidates(logProbs: logProbs, beamScores: [0, -1], count: 4)
    XCTAssertEqual(
      c,
      [
        BeamCandidate(beam: 0, token: 2, score: -0.5), BeamCandidate(beam: 0, token: 0, score: -1),
        BeamCandidate(beam: 1, token: 0, score: -1.125),
        BeamCandidate(beam: 0, token: 1, score: -2),
      ])
    // Ties go to the lower beam·vocab + token.
    let tie = Generation.beamCandidates(
      logProbs: [[-1, -1], [-1, -1]], beamScores: [0, 0], count: 3)
    XCTAssertEqual(tie.map { [$0.beam, $0.token] }, [[0, 0], [0, 1], [1, 0]])
  }

  func testHypothesesKeepTheBestFinishedWithLengthPenalty() {
    var h = BeamHypotheses(numBeams: 2, lengthPenalty: 2, earlyStopping: .enabled)
    XCTAssertEqual(h.score(-4, generatedLength: 2), -1)
    // Only stopped candidates among the first numBeams join.
    h.add([([1, 2], -4, true), ([1, 3], -3, false), ([1, 4], -0.5, true)], generatedLength: 2)
    XCTAssertEqual(h.finished.map(\.tokens), [[1, 2]])
    XCTAssertEqual(h.finished.map(\.score), [-1])
    XCTAssertFalse(h.isFull)
    h.add([([5, 6, 7], -18, true), ([5, 6, 8], -1, true)], generatedLength: 3)
    XCTAssertEqual(h.finished.map(\.tokens), [[5, 6, 8], [1, 2]])
    XCTAssertEqual(h.finished.map(\.score), [-1.0 / 9, -1])
    XCTAssertTrue(h.isFull)
    // Full with early stopping: nothing else joins, however good.
    h.add([([9], -0.01, true)], generatedLength: 1)
    XCTAssertEqual(h.finished.map(\.tokens), [[5, 6, 8], [1, 2]])
  }

  func testImprovableComparesTheBestRunningBeamWithTheWorstFinished() {
    var h = BeamHypotheses(numBeams: 1, lengthPenalty: 1, earlyStopping: .heuristic)
    h.add([([4], -2, true)], generatedLength: 1)
    h.updateImprovable(bestRunningScore: -3, generatedLength: 1, maxGeneratedLength: 10)
    XCTAssertFalse(h.improvable, "-3 cannot beat -2")
    // "never" with a positive length penalty scores the running beam at the longest length.
    var never = BeamHypotheses(numBeams: 1, lengthPenalty: 1, earlyStopping: .never)
    never.add([([4], -2, true)], generatedLength: 1)
    never.updateImprovable(bestRunningScore: -3, generatedLength: 1, maxGeneratedLength: 10)
    XCTAssertTrue(never.improvable, "-3 / 10 beats -2")
    // A later finished hypothesis is refused once not improvable.
    h.add([([5], -0.1, true)], generatedLength: 1)
    XCTAssertEqual(h.finished.map(\.tokens), [[4]])
  }

  func testScorerContinuesUnstoppedBeamsAndFilesFinishedOnes() {
    var config = GenerationConfig()
    config.numBeams = 2
    config.eosTokenIds = [9]
    var scorer = BeamSearchScorer(batchSize: 1, promptLength: 1, maxLength: 10, config: config)
    let step = scorer.process(
      [
        [
          BeamCandidate(beam: 0, token: 9, score: -0.25),
          BeamCandidate(beam: 0, token: 3, score: -0.5),
          BeamCandidate(beam: 1, token: 4, score: -0.75),
          BeamCandidate(beam: 1, token: 9, score: -1),
        ]
      ], running: [[0], [7]], curLen: 1)
    XCTAssertEqual(step.running, [[0, 3], [7, 4]])
    XCTAssertEqual(step.scores, [-0.5, -0.75])
    XCTAssertEqual(step.origins, [0, 1])
    XCTAssertFalse(step.allStopped)
    XCTAssertEqual(
      scorer.hypotheses[0].finished.map(\.tokens), [[0, 9]], "[7, 9] ranked below num_beams")
    XCTAssertFalse(scorer.isDone)
    scorer.updateImprovable(runningScores: step.scores, curLen: 2)
    XCTAssertFalse(scorer.isDone, "-0.5 can still beat the empty slot")
    XCTAssertEqual(scorer.finalize(numReturnSequences: 1, pad: 9), [[0, 9]])
  }
}
