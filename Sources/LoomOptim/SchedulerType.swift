import LoomCore

/// Hugging Face's `SchedulerType`: the `lr_scheduler_type` names, as raw values.
public enum SchedulerType: String, CaseIterable, Codable, Sendable {
  case linear, cosine
  case cosineWithRestarts = "cosine_with_restarts"
  case polynomial, constant
  case constantWithWarmup = "constant_with_warmup"
  case inverseSqrt = "inverse_sqrt"

  /// Parses a name, or throws listing the valid ones.
  public init(parsing name: String) throws {
    guard let t = SchedulerType(rawValue: name) else {
      throw LoomError(
        "unknown lr_scheduler_type '\(name)'; valid values: \(Self.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    self = t
  }

  /// Rejects unknown names when decoding (training_args.json) with the same message.
  public init(from decoder: Decoder) throws {
    try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
  }

  /// The schedule with HF's default arguments (`lrInit`: the optimizer's initial rate,
  /// which only `polynomial` uses).
  public func schedule(warmupSteps: Int, totalSteps: Int, lrInit: Double = 1) -> LRSchedule {
    switch self {
    case .linear: return .linear(warmupSteps: warmupSteps, totalSteps: totalSteps)
    case .cosine: return .cosine(warmupSteps: warmupSteps, totalSteps: totalSteps)
    case .cosineWithRestarts:
      return .cosineWithRestarts(warmupSteps: warmupSteps, totalSteps: totalSteps)
    case .polynomial:
      return .polynomial(warmupSteps: warmupSteps, totalSteps: totalSteps, lrInit: lrInit)
    case .constant: return .constant
    case .constantWithWarmup: return .constantWithWarmup(warmupSteps: warmupSteps)
    case .inverseSqrt: return .inverseSqrt(warmupSteps: warmupSteps)
    }
  }
}
