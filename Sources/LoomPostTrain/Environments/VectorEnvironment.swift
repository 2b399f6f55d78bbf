/// What one step of every environment returns; observations are in `VectorEnvironment.observations`.
public struct VectorStep {
  public var rewards: [Double]
  public var terminated: [Bool]
  public var truncated: [Bool]
  /// The last observation of each episode that ended at this step (by environment index); the environment has
  /// already been reset, as Gymnasium's same-step autoreset does. A truncated episode's value is bootstrapped
  /// from it.
  public var finalObservations: [Int: [Float]]
}

/// Gymnasium's `SyncVectorEnv` with same-step autoreset: N copies stepped together in plain Swift, observations
/// kept as one row-major [N, observationSize] array (uploaded as one tensor per step), and the returns and
/// lengths of finished episodes (`RecordEpisodeStatistics`).
public struct VectorEnvironment<E: Environment> {
  public private(set) var environments: [E]
  public let observationSize: Int
  public let actionCount: Int
  /// The current observation of every environment, [N · observationSize].
  public private(set) var observations: [Float]
  /// Returns and lengths of every finished episode, in order of completion.
  public private(set) var episodeReturns: [Double] = []
  public private(set) var episodeLengths: [Int] = []
  var runningReturns: [Double]
  var runningLengths: [Int]

  /// N environments from `make(i)`, reset with seeds seed, seed + 1, … (Gymnasium's vector seeding).
  public init(count: Int, seed: UInt64, make: (Int) -> E) {
    precondition(count > 0, "VectorEnvironment needs at least one environment")
    environments = (0..<count).map(make)
    observationSize = environments[0].observationSize
    actionCount = environments[0].actionCount
    runningReturns = Array(repeating: 0, count: count)
    runningLengths = Array(repeating: 0, count: count)
    observations = []
    observations.reserveCapacity(count * observationSize)
    for i in 0..<count { observations += environments[i].reset(seed: seed &+ UInt64(i)) }
  }

  public var count: Int { environments.count }

  /// Steps environment i with actions[i]; a finished episode is recorded and its environment reset.
  public mutating func step(_ actions: [Int]) throws -> VectorStep {
    guard actions.count == count else {
      throw EnvironmentError(
        "VectorEnvironment: \(actions.count) actions for \(count) environments")
    }
    var result = VectorStep(
      rewards: Array(repeating: 0, count: count), terminated: Array(repeating: false, count: count),
      truncated: Array(repeating: false, count: count), finalObservations: [:])
    for i in 0..<count {
      var step = try environments[i].step(actions[i])
      result.rewards[i] = step.reward
      result.terminated[i] = step.terminated
      result.truncated[i] = step.truncated
      runningReturns[i] += step.reward
      runningLengths[i] += 1
      if step.done {
        episodeReturns.append(runningReturns[i])
        episodeLengths.append(runningLengths[i])
        runningReturns[i] = 0
        runningLengths[i] = 0
        result.finalObservations[i] = step.observation
        step.observation = environments[i].reset(seed: nil)
      }
      let base = i * observationSize
      for j in 0..<observationSize { observations[base + j] = step.observation[j] }
    }
    return result
  }
}
