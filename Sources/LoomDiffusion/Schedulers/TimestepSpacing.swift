import Foundation
import LoomCore

/// How inference timesteps are picked from the training ones: diffusers' `timestep_spacing`
/// values plus the DDIM paper's sub-sequences (Song et al. 2021, §D.2).
public enum TimestepSpacing: String, CaseIterable, Sendable {
  case leading, trailing, linspace
  /// τ_i = ⌊c·i⌋ with c = T / S.
  case linear
  /// τ_i = ⌊c·i²⌋ with c = 0.8·T / (S − 1)², as the paper's code (ermongroup/ddim); repeated
  /// small timesteps are dropped (a DDIM step from t to t is the identity), so it may give fewer than S.
  case quadratic

  /// True for the spacings diffusers knows (written to scheduler_config.json as is).
  public var isDiffusers: Bool { self == .leading || self == .trailing || self == .linspace }

  /// Descending timesteps for `steps` inference steps out of `trainSteps`.
  public func timesteps(steps: Int, trainSteps: Int, stepsOffset: Int) throws -> [Int] {
    guard steps >= 1, steps <= trainSteps else {
      throw LoomError(
        "num_inference_steps \(steps) must be between 1 and num_train_timesteps (\(trainSteps)): the model "
          + "was trained on \(trainSteps) timesteps")
    }
    let trainCount = Double(trainSteps)
    let stepCount = Double(steps)
    var ts: [Int]
    switch self {
    case .linspace:
      // np.linspace(0, trainCount - 1, stepCount).round(): numpy rounds half to even.
      let step = steps > 1 ? (trainCount - 1) / (stepCount - 1) : 0
      ts = (0..<steps).map { i in i == steps - 1 && steps > 1 ? trainCount - 1 : Double(i) * step }
        .map { Int($0.rounded(.toNearestOrEven)) }
      ts.reverse()
    case .leading:
      let ratio = trainSteps / steps
      ts = (0..<steps).reversed().map { $0 * ratio + stepsOffset }
    case .trailing:
      // np.round(np.arange(trainCount, 0, -trainCount / stepCount)) - 1, numpy's arange length included.
      let ratio = trainCount / stepCount
      let count = Int((trainCount / ratio).rounded(.up))
      ts = (0..<count).map { Int((trainCount - Double($0) * ratio).rounded(.toNearestOrEven)) - 1 }
    case .linear:
      ts = (0..<steps).reversed().map { Int((trainCount / stepCount * Double($0)).rounded(.down)) + stepsOffset }
    case .quadratic:
      let c = steps > 1 ? 0.8 * trainCount / ((stepCount - 1) * (stepCount - 1)) : 0
      var seen = Set<Int>()
      ts = (0..<steps).map { Int((c * Double($0 * $0)).rounded(.down)) + stepsOffset }.filter {
        seen.insert($0).inserted
      }
      ts.reverse()
    }
    if let bad = ts.first(where: { $0 < 0 || $0 >= trainSteps }) {
      throw LoomError(
        "timestep_spacing \(rawValue) with steps_offset \(stepsOffset) gives timestep \(bad), outside "
          + "0..<\(trainSteps); lower steps_offset or use another spacing")
    }
    return ts
  }
}
