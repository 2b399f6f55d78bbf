import Foundation
import LoomCore

/// Gymnasium's `CartPole-v1` (classic control, Barto, Sutton & Anderson's cart-pole): the same constants, Euler
/// integration in float64, float32 observations [x, ẋ, θ, θ̇], reward 1 per step (the terminating step included),
/// termination when |θ| > 12° or |x| > 2.4, truncation after 500 steps (`TimeLimit`), and a reset state drawn
/// from U(−0.05, 0.05) — from Loom's Philox generator, so seeded episodes differ from NumPy's but repeat exactly.
public struct CartPole: Environment {
  public let gravity = 9.8
  public let masscart = 1.0
  public let masspole = 0.1
  public var totalMass: Double { masspole + masscart }
  /// Half the pole's length.
  public let length = 0.5
  public var polemassLength: Double { masspole * length }
  public let forceMag = 10.0
  /// Seconds between state updates.
  public let tau = 0.02
  public let thetaThresholdRadians = 12 * 2 * Double.pi / 360
  public let xThreshold = 2.4
  /// `TimeLimit`'s `max_episode_steps` for v1.
  public var maxEpisodeSteps = 500

  public let observationSize = 4
  public let actionCount = 2

  /// [x, ẋ, θ, θ̇] in float64, as Gymnasium keeps it; nil before the first reset.
  public var state: [Double]?
  /// Steps since the last reset (`TimeLimit._elapsed_steps`).
  public private(set) var elapsedSteps = 0
  var stepsBeyondTerminated: Int? = nil
  var generator: Generator

  public init(seed: UInt64 = 0) { generator = Generator(seed: seed) }

  public var observation: [Float] { (state ?? [0, 0, 0, 0]).map { Float($0) } }

  public mutating func reset(seed: UInt64? = nil) -> [Float] {
    if let seed { generator = Generator(seed: seed) }
    state = (0..<4).map { _ in -0.05 + 0.1 * generator.nextDouble() }
    elapsedSteps = 0
    stepsBeyondTerminated = nil
    return observation
  }

  /// Puts the environment in a given state at the start of an episode (for tests against Gymnasium).
  public mutating func reset(state: [Double]) {
    precondition(state.count == 4, "CartPole.reset(state:) needs [x, x_dot, theta, theta_dot]")
    self.state = state
    elapsedSteps = 0
    stepsBeyondTerminated = nil
  }

  public mutating func step(_ action: Int) throws -> EnvironmentStep {
    guard action == 0 || action == 1 else {
      throw EnvironmentError("CartPole: action \(action) is not 0 (push left) or 1 (push right)")
    }
    guard let s = state else { throw EnvironmentError("CartPole: call reset() before step()") }
    var (x, xDot, theta, thetaDot) = (s[0], s[1], s[2], s[3])
    let force = action == 1 ? forceMag : -forceMag
    let (costheta, sintheta) = (cos(theta), sin(theta))
    let temp = (force + polemassLength * (thetaDot * thetaDot) * sintheta) / totalMass
    let thetaacc =
      (gravity * sintheta - costheta * temp)
      / (length * (4.0 / 3.0 - masspole * (costheta * costheta) / totalMass))
    let xacc = temp - polemassLength * thetaacc * costheta / totalMass
    x = x + tau * xDot
    xDot = xDot + tau * xacc
    theta = theta + tau * thetaDot
    thetaDot = thetaDot + tau * thetaacc
    state = [x, xDot, theta, thetaDot]

    let terminated =
      x < -xThreshold || x > xThreshold || theta < -thetaThresholdRadians
      || theta > thetaThresholdRadians
    var reward = 1.0
    if terminated {
      // Stepping on after termination is undefined in Gymnasium; it pays 0 from then on.
      if let beyond = stepsBeyondTerminated {
        stepsBeyondTerminated = beyond + 1
        reward = 0
      } else {
        stepsBeyondTerminated = 0
      }
    }
    elapsedSteps += 1
    return EnvironmentStep(
      observation: observation, reward: reward, terminated: terminated,
      truncated: elapsedSteps >= maxEpisodeSteps)
  }
}
