import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

@testable import LoomPostTrain

/// `loom train ppo --env cartpole`: a short run learns (the mean return leaves the random policy's ~22 behind)
/// and writes metrics.jsonl, the policy and the reward curve; flags that do not apply are errors.
final class PPOCartPoleCLITests: XCTestCase {
  func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "loom-ppo-\(UUID().uuidString)"
    ).path
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  /// The mean return of uniformly random actions, measured on the same environment.
  func randomPolicyReturn() throws -> Double {
    var envs = VectorEnvironment(count: 4, seed: 11) { _ in CartPole() }
    let generator = Generator(seed: 11)
    while envs.episodeReturns.count < 200 {
      _ = try envs.step((0..<4).map { _ in generator.nextInt(below: 2) })
    }
    return envs.episodeReturns.reduce(0, +) / Double(envs.episodeReturns.count)
  }

  func testShortRunLearnsAndWritesMetricsPolicyAndCurve() throws {
    let random = try randomPolicyReturn()
    XCTAssertEqual(random, 22, accuracy: 5, "random CartPole episodes last about 22 steps")
    let dir = try temporaryDirectory()
    let r = try loom([
      "train", "ppo", "--env", "cartpole", "--seed", "3", "--total-timesteps", "16384",
      "--num-envs", "8",
      "--num-steps", "128", "--learning-rate", "0.001", "--no-anneal-lr", "--output-dir", dir,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(
      separator: "\n")
    XCTAssertEqual(lines.count, 16)
    let records = try lines.map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    for key in [
      "episode_return_mean", "episodes", "global_step", "loss/policy_avg", "loss/value_avg",
      "policy/entropy_avg", "policy/approxkl_avg", "policy/clipfrac_avg",
    ] {
      XCTAssertNotNil(records.last?[key], key)
    }
    let returns = records.compactMap { $0["episode_return_mean"] as? Double }
    let episodes = records.compactMap { $0["episodes"] as? Double }
    XCTAssertEqual(records.last?["global_step"] as? Double, 16384)
    XCTAssertEqual(episodes, episodes.sorted())
    XCTAssertLessThan(returns.first!, 2 * random, "the first policy is near uniform")
    XCTAssertGreaterThan(returns.last!, 2 * random, "\(returns)")
    let weights = try SafeTensorsFile(path: dir + "/model.safetensors")
    XCTAssertEqual(
      Set(weights.names),
      Set(
        ["actor", "critic"].flatMap { n in
          ["fc1", "fc2", "out"].flatMap { ["\(n).\($0).weight", "\(n).\($0).bias"] }
        }))
    XCTAssertEqual(try weights.entry("actor.out.weight").shape, [2, 64])
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/reward_curve.png"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/ppo_config.json"))
  }

  func testFlagsThatDoNotApplyAreErrors() throws {
    let dir = try temporaryDirectory()
    for (args, message) in [
      (["--env", "pendulum"], "unknown environment 'pendulum'; available: cartpole"),
      (["--env", "cartpole", "--kl-coef", "0.1"], "--kl-coef does not apply to --env cartpole"),
      (["--env", "cartpole", "--num-mini-batches", "3"], "--num-mini-batches must divide"),
      (["--env", "cartpole", "--cliprange", "-1"], "--cliprange must be positive, got -1.0"),
      ([String](), "loom train ppo needs --model DIR (a causal LM to train) or --env (cartpole)"),
    ] {
      let r = try loom(["train", "ppo"] + args + ["--output-dir", dir])
      XCTAssertNotEqual(r.status, 0, "\(args)")
      XCTAssertTrue(r.err.contains(message), "\(args): \(r.err)")
    }
  }
}
