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
    case .step(let size, let gamma):
      return pow(gamma, Double(step / Swift.max(size, 1)))
    }
  }

  /// Parses Hugging Face's `lr_scheduler_type` names.
  public init(name: String, warmupSteps: Int, totalSteps: Int) throws {
    switch name {
    case "constant": self = .constant
    case "constant_with_warmup": self = .constantWithWarmup(warmupSteps: warmupSteps)
    case "linear": self = .linear(warmupSteps: warmupSteps, totalSteps: totalSteps)
    case "cosine": self = .cosine(warmupSteps: warmupSteps, totalSteps: totalSteps)
    default:
      throw LoomError("unknown lr_scheduler_type '\(name)' (use linear, cosine, constant or constant_with_warmup)")
    }
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

