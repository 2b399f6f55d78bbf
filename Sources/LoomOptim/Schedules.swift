import Foundation
import LoomCore

/// Learning-rate schedules as multipliers of the initial rate at optimizer step k,
/// matching Hugging Face's `get_scheduler` (torch LambdaLR semantics: the factor for
/// step 0 applies before the first update).
public enum LRSchedule: Equatable, Sendable {
  case constant
  case constantWithWarmup(warmupSteps: Int)
  case linear(warmupSteps: Int, totalSteps: Int)
  case cosine(warmupSteps: Int, totalSteps: Int, cycles: Double = 0.5)
  /// Cosine with `cycles` hard restarts (HF `cosine_with_restarts`).
  case cosineWithRestarts(warmupSteps: Int, totalSteps: Int, cycles: Int = 1)
  /// Polynomial decay from the initial rate to `lrEnd` (HF `polynomial`, whose factor
  /// depends on the initial rate `lrInit`).
  case polynomial(warmupSteps: Int, totalSteps: Int, lrInit: Double, lrEnd: Double = 1e-7, power: Double = 1)
  /// 1/√step after warmup (HF `inverse_sqrt`; `timescale` defaults to the warmup steps, or 10,000).
  case inverseSqrt(warmupSteps: Int, timescale: Int? = nil)
  /// Multiply by gamma every stepSize steps (torch StepLR).
  case step(stepSize: Int, gamma: Double)

  public func factor(at step: Int) -> Double {
    switch self {
    case .constant:
      return 1
    case .constantWithWarmup(let w):
      return step < w ? Double(step) / Double(Swift.max(1, w)) : 1
    case .linear(let w, let total):
      if step < w { return Double(step) / Double(Swift.max(1, w)) }
      return Swift.max(0, Double(total - step) / Double(Swift.max(1, total - w)))
    case .cosine(let w, let total, let cycles):
      if step < w { return Double(step) / Double(Swift.max(1, w)) }
      let progress = Double(step - w) / Double(Swift.max(1, total - w))
      return Swift.max(0, 0.5 * (1 + cos(Double.pi * cycles * 2 * progress)))
    case .cosineWithRestarts(let w, let total, let cycles):
      if step < w { return Double(step) / Double(Swift.max(1, w)) }
      let progress = Double(step - w) / Double(Swift.max(1, total - w))
      if progress >= 1 { return 0 }
      let phase = (Double(cycles) * progress).truncatingRemainder(dividingBy: 1)
      return Swift.max(0, 0.5 * (1 + cos(Double.pi * phase)))
    case .polynomial(let w, let total, let lrInit, let lrEnd, let power):
      if step < w { return Double(step) / Double(Swift.max(1, w)) }
      if step > total { return lrEnd / lrInit }
      let remaining = 1 - Double(step - w) / Double(Swift.max(1, total - w))
      return ((lrInit - lrEnd) * pow(remaining, power) + lrEnd) / lrInit
    case .inverseSqrt(let w, let timescale):
      let t = timescale ?? (w > 0 ? w : 10_000)
      if step < w { return Double(step) / Double(Swift.max(1, w)) }
      return 1 / (Double(step + t - w) / Double(t)).squareRoot()
    case .step(let size, let gamma):
      return pow(gamma, Double(step / Swift.max(size, 1)))
    }
  }

  /// Parses Hugging Face's `lr_scheduler_type` names (see `SchedulerType`).
  public init(name: String, warmupSteps: Int, totalSteps: Int, lrInit: Double = 1) throws {
    self = try SchedulerType(parsing: name).schedule(warmupSteps: warmupSteps, totalSteps: totalSteps, lrInit: lrInit)
  }
}

/// Drives an optimizer's learning rates through a schedule.
public final class LRScheduler {
  public let optimizer: any Optimizer
  public let schedule: LRSchedule
  public private(set) var stepCount = 0

  public init(_ optimizer: any Optimizer, schedule: LRSchedule) {
    self.optimizer = optimizer
    self.schedule = schedule
    optimizer.scaleLearningRates(by: schedule.factor(at: 0))
  }

  /// Advances one optimizer step.
  public func step() {
    stepCount += 1
    optimizer.scaleLearningRates(by: schedule.factor(at: stepCount))
  }

  /// Restores the position (for resuming from a checkpoint).
  public func restore(stepCount: Int) {
    self.stepCount = stepCount
    optimizer.scaleLearningRates(by: schedule.factor(at: stepCount))
  }

  public var lastLR: [Double] { optimizer.paramGroups.map(\.lr) }
}

