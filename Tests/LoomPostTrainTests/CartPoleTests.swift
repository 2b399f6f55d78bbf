import Foundation
import XCTest

@testable import LoomPostTrain

/// CartPole against Gymnasium's CartPole-v1 (scripts/fixtures/make_cartpole_fixtures.py): the same actions from
/// the same state give the same states, observations, rewards and episode ends.
final class CartPoleTests: XCTestCase {
  struct Episode: Decodable {
    let reset_state: [Double]
    let actions: [Int]
    let observations: [[Double]]
    let states: [[Double]]
    let rewards: [Double]
    let terminated: [Bool]
    let truncated: [Bool]
  }

  static let episodes: [Episode] = {
    let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
      .appendingPathComponent("ppo/cartpole.json")
    struct File: Decodable { let episodes: [Episode] }
    return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).episodes
  }()

  func testTrajectoriesMatchGymnasium() throws {
    XCTAssertEqual(Self.episodes.map(\.actions.count).last, 500)
    for (e, episode) in Self.episodes.enumerated() {
      var env = CartPole()
      env.reset(state: episode.reset_state)
      for (t, action) in episode.actions.enumerated() {
        let step = try env.step(action)
        let state = try XCTUnwrap(env.state)
        let worst = zip(state, episode.states[t]).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(
          worst, 1e-6, "episode \(e) step \(t): state \(state) vs \(episode.states[t])")
        XCTAssertEqual(
          step.observation.map(Double.init), episode.observations[t], "episode \(e) step \(t)")
        XCTAssertEqual(step.reward, episode.rewards[t])
        XCTAssertEqual(step.terminated, episode.terminated[t], "episode \(e) step \(t)")
        XCTAssertEqual(step.truncated, episode.truncated[t], "episode \(e) step \(t)")
        if worst > 1e-6 { return }
      }
    }
  }

  func testSeededResetsRepeatAndStayInRange() {
    var a = CartPole()
    var b = CartPole()
    let first = a.reset(seed: 7)
    XCTAssertEqual(first, b.reset(seed: 7))
    XCTAssertNotEqual(first, a.reset())
    for _ in 0..<50 { XCTAssertTrue(a.reset().allSatisfy { abs($0) < 0.05 }) }
  }

  func testBadActionsAndCallOrderAreClearErrors() {
    var env = CartPole()
    XCTAssertThrowsError(try env.step(0)) {
      XCTAssertEqual("\($0)", "CartPole: call reset() before step()")
    }
    _ = env.reset(seed: 1)
    XCTAssertThrowsError(try env.step(2)) {
      XCTAssertEqual("\($0)", "CartPole: action 2 is not 0 (push left) or 1 (push right)")
    }
    XCTAssertThrowsError(try Environments.make("pendulum")) {
      XCTAssertEqual("\($0)", "unknown environment 'pendulum'; available: cartpole")
    }
  }

  func testVectorEnvironmentResetsFinishedEpisodesAndCountsReturns() throws {
    var envs = VectorEnvironment(count: 3, seed: 5) { _ in CartPole() }
    XCTAssertEqual(envs.observations.count, 12)
    var steps = 0
    while envs.episodeReturns.count < 4 {
      let result = try envs.step([0, 1, 0])
      steps += 1
      for i in 0..<3 where result.terminated[i] || result.truncated[i] {
        // The reset observation replaced the final one, which is kept for bootstrapping.
        XCTAssertNotNil(result.finalObservations[i])
        XCTAssertTrue(envs.observations[(i * 4)..<(i * 4 + 4)].allSatisfy { abs($0) < 0.05 })
      }
    }
    // Pushing one way the whole time ends an episode in about ten steps; every step pays 1.
    XCTAssertTrue(envs.episodeReturns.allSatisfy { $0 >= 8 && $0 <= 20 }, "\(envs.episodeReturns)")
    XCTAssertEqual(envs.episodeReturns, envs.episodeLengths.map(Double.init))
    XCTAssertLessThan(steps, 40)
  }
}
