import Foundation
import LoomCore

/// Adafactor as `torch.optim.Adafactor` (torch ≥ 2.5) computes it, step for step:
/// relative step ρ = min(lr, 1/√t) scaled by max(eps2, RMS(θ)); β̂₂ = 1 − t^beta2Decay;
/// second moments factored into row and column means over the last two dims for
/// parameters of rank ≥ 2 (a full variance for vectors); update clipped to RMS ≤ d;
/// decoupled weight decay θ ← θ·(1 − lr·λ). No first moment.
public final class Adafactor: Optimizer {
  public var paramGroups: [ParamGroup]
  public let beta2Decay: Double
  /// Floor of the variance estimate (nil: the parameter dtype's machine epsilon).
  public let eps1: Double?
  /// Floor of the parameter RMS that scales the step.
  public let eps2: Double
  /// Update clipping threshold.
  public let d: Double
  public let maximize: Bool

  struct State {
    var step = 0
    /// Rank ≥ 2: row means [..., R, 1] and column means [..., 1, C] of g²; else nil.
    var rowVar: Tensor?
    var colVar: Tensor?
    /// Rank < 2: the running mean of g².
    var variance: Tensor?
  }
  var states: [ObjectIdentifier: State] = [:]

  public init(
    _ groups: [ParamGroup], beta2Decay: Double = -0.8, eps: (Double?, Double) = (nil, 1e-3), d: Double = 1,
    maximize: Bool = false
  ) {
    precondition(beta2Decay <= 0, "Adafactor: beta2_decay must be <= 0, got \(beta2Decay)")
    precondition((eps.0 ?? 0) >= 0 && eps.1 >= 0, "Adafactor: epsilons must be >= 0, got \(eps)")
    precondition(d >= 1, "Adafactor: clipping threshold d must be >= 1, got \(d)")
    paramGroups = groups
    self.beta2Decay = beta2Decay
    (eps1, eps2) = eps
    self.d = d
    self.maximize = maximize
  }

  public convenience init(
    _ params: [Tensor], lr: Double = 1e-2, beta2Decay: Double = -0.8, eps: (Double?, Double) = (nil, 1e-3),
    d: Double = 1, weightDecay: Double = 0, maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(params: params, lr: lr, weightDecay: weightDecay)], beta2Decay: beta2Decay, eps: eps, d: d,
      maximize: maximize)
  }

  public func step() {
    noGrad {
      for group in paramGroups {
        for p in group.params {
          guard let g = p.grad else { continue }
          precondition(p.isContiguous, "Adafactor: parameters must be contiguous")
          precondition(
            p.dtype == .float32 || p.dtype == .float64,
            "Adafactor: parameters must be float32 or float64, got \(p.dtype)")
          let id = ObjectIdentifier(p)
          var state = states[id] ?? newState(p)
          state.step += 1
          let gc = g.to(p.dtype).contiguous()
          p.backend.adafactorStep(
            param: p, grad: gc, rowVar: state.rowVar, colVar: state.colVar, variance: state.variance,
            AdafactorStepOptions(
              lr: group.lr, weightDecay: group.weightDecay, step: state.step, beta2Decay: beta2Decay,
              eps1: eps1, eps2: eps2, clipThreshold: d, maximize: maximize))
          states[id] = state
        }
      }
    }
  }

  func newState(_ p: Tensor) -> State {
    var s = State()
    if p.rank >= 2 {
      var rows = p.shape
      var cols = p.shape
      rows[p.rank - 1] = 1
      cols[p.rank - 2] = 1
      (s.rowVar, s.colVar) = (
        Tensor.zeros(rows, dtype: p.dtype, device: p.device), Tensor.zeros(cols, dtype: p.dtype, device: p.device)
      )
    } else {
      s.variance = Tensor.zeros(like: p)
    }
    return s
  }

  /// Keys "<index>.step", "<index>.row_var", "<index>.col_var", "<index>.variance"
  /// (torch's state names).
  public func stateDict() -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (i, p) in allParameters.enumerated() {
      guard let s = states[ObjectIdentifier(p)] else { continue }
      out["\(i).step"] = Tensor(scalar: Int64(s.step))
      if let r = s.rowVar, let c = s.colVar {
        out["\(i).row_var"] = r
        out["\(i).col_var"] = c
      }
      if let v = s.variance { out["\(i).variance"] = v }
    }
    return out
  }

  public func loadStateDict(_ state: [String: Tensor]) throws {
    for (i, p) in allParameters.enumerated() {
      guard let step = state["\(i).step"] else { continue }
      var s = newState(p)
      s.step = try savedStep(step, key: "\(i).step")
      func restore(_ name: String, into target: Tensor) throws -> Tensor {
        guard let saved = state["\(i).\(name)"] else {
          throw OptimizerStateError.missing("\(i).\(name)")
        }
        guard saved.shape == target.shape else {
          throw LoomError(
            "optimizer state: parameter \(i) (shape \(p.shape)) expects \(name) of shape \(target.shape), got \(saved.shape)"
          )
        }
        return saved.to(p.dtype).contiguousCopy().detach()
      }
      if let r = s.rowVar, let c = s.colVar {
        s.rowVar = try restore("row_var", into: r)
        s.colVar = try restore("col_var", into: c)
      } else if let v = s.variance {
        s.variance = try restore("variance", into: v)
      }
      states[ObjectIdentifier(p)] = s
    }
  }
}
