// A small Gymnasium-style environment interface: discrete actions, flat float observations, episodes that end by
// termination (the task failed or succeeded) or truncation (a time limit), as `gymnasium.Env.step` reports them.

/// What one `step` returns (Gymnasium's `(observation, reward, terminated, truncated, info)` without info).
public struct EnvironmentStep: Equatable, Sendable {
  public var observation: [Float]
  public var reward: Double
  public var terminated: Bool
  public var truncated: Bool
  public var done: Bool { terminated || truncated }

  public init(observation: [Float], reward: Double, terminated: Bool, truncated: Bool) {
    self.observation = observation
    self.reward = reward
    self.terminated = terminated
    self.truncated = truncated
  }
}

/// An environment with `Discrete(actionCount)` actions and a flat `Box(observationSize)` observation.
public protocol Environment {
  var observationSize: Int { get }
  var actionCount: Int { get }
  /// Starts an episode; a seed re-seeds the environment's generator (Gymnasium's `reset(seed=)`), nil goes on
  /// with the current one.
  mutating func reset(seed: UInt64?) -> [Float]
  /// Applies `action`; throws for an action outside 0 ..< actionCount or a step before `reset`.
  mutating func step(_ action: Int) throws -> EnvironmentStep
}

/// Errors from environments: a wrong action or call order, or an unknown environment name.
public struct EnvironmentError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// Environments by Gymnasium id or short name (`--env`).
public enum Environments {
  public static let names = ["cartpole"]

  /// `cartpole` or `CartPole-v1` → a CartPole with Gymnasium's v1 rules.
  public static func make(_ name: String) throws -> CartPole {
    switch name.lowercased() {
    case "cartpole", "cartpole-v1": return CartPole()
    default:
      throw EnvironmentError(
        "unknown environment '\(name)'; available: \(names.joined(separator: ", "))")
    }
  }
}
