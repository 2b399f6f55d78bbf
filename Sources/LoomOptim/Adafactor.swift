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
          if p.dtype == .float32 {
            update(p, gc, &state, Float.self, lr: group.lr, weightDecay: group.weightDecay)
          } else {
            update(p, gc, &state, Double.self, lr: group.lr, weightDecay: group.weightDecay)
          }
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
        Tensor.zeros(rows, dtype: p.dtype), Tensor.zeros(cols, dtype: p.dtype)
      )
    } else {
      s.variance = Tensor.zeros(p.shape, dtype: p.dtype)
    }
    return s
  }

  /// torch's `lerp_`: the second form keeps precision when the weight is large.
  @inline(__always)
  static func lerp(_ a: Double, _ b: Double, _ w: Double) -> Double {
    Swift.abs(w) < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w)
  }

  func update<T: BinaryFloatingPoint & TensorElement>(
    _ p: Tensor, _ g: Tensor, _ state: inout State, _: T.Type, lr: Double, weightDecay: Double
  ) {
    let n = p.count
    guard n > 0 else { return }
    let pp = p.buffer(as: T.self)
    let gp = g.buffer(as: T.self)
    let sign: Double = maximize ? -1 : 1
    let t = Double(state.step)
    let oneMinusBeta2 = Foundation.pow(t, beta2Decay)
    let rho = Swift.min(lr, 1 / t.squareRoot())
    var sumSquares = 0.0
    for i in 0..<n { sumSquares += Double(pp[i]) * Double(pp[i]) }
    let alpha = Swift.max(eps2, (sumSquares / Double(n)).squareRoot()) * rho
    if weightDecay != 0 {
      let keep = T(1 - lr * weightDecay)
      for i in 0..<n { pp[i] *= keep }
    }
    let e1 = eps1 ?? Double(T.ulpOfOne)
    let floor = e1 * e1
    // The update g / √max(v̂, eps1²) is formed twice: once for its RMS (the clipping
    // factor), then to apply, so no gradient-sized temporary is needed.
    if let rowVar = state.rowVar, let colVar = state.colVar {
      let (r, c) = (p.shape[p.rank - 2], p.shape[p.rank - 1])
      let batches = n / (r * c)
      let rv = rowVar.buffer(as: T.self)
      let cv = colVar.buffer(as: T.self)
      // Per matrix: the mean of the row factors (the normaliser of row ⊗ column).
      let rowMeans = UnsafeMutableBufferPointer<Double>.allocate(capacity: batches)
      defer { rowMeans.deallocate() }
      for b in 0..<batches {
        let base = b * r * c
        for i in 0..<r {
          var s = 0.0
          for j in 0..<c { s += Double(gp[base + i * c + j]) * Double(gp[base + i * c + j]) }
          rv[b * r + i] = T(Self.lerp(Double(rv[b * r + i]), s / Double(c), oneMinusBeta2))
        }
        for j in 0..<c {
          var s = 0.0
          for i in 0..<r { s += Double(gp[base + i * c + j]) * Double(gp[base + i * c + j]) }
          cv[b * c + j] = T(Self.lerp(Double(cv[b * c + j]), s / Double(r), oneMinusBeta2))
        }
        var m = 0.0
        for i in 0..<r { m += Double(rv[b * r + i]) }
        rowMeans[b] = Swift.max(m / Double(r), e1)
      }
      func estimate(_ k: Int) -> Double {
        let b = k / (r * c)
        let i = (k / c) % r
        let j = k % c
        return Double(T(Double(rv[b * r + i]) * Double(cv[b * c + j]) / rowMeans[b]))
      }
      sumSquares = 0
      for k in 0..<n {
        let u = sign * Double(gp[k]) / Swift.max(estimate(k), floor).squareRoot()
        sumSquares += u * u
      }
      let scale = alpha / Swift.max(1, (sumSquares / Double(n)).squareRoot() / d)
      for k in 0..<n {
        pp[k] -= T(scale * sign * Double(gp[k]) / Swift.max(estimate(k), floor).squareRoot())
      }
    } else {
      let vp = state.variance!.buffer(as: T.self)
      sumSquares = 0
      for k in 0..<n {
        let g = Double(gp[k])
        vp[k] = T(Self.lerp(Double(vp[k]), g * g, oneMinusBeta2))
        let u = sign * g / Swift.max(Double(vp[k]), floor).squareRoot()
        sumSquares += u * u
      }
      let scale = alpha / Swift.max(1, (sumSquares / Double(n)).squareRoot() / d)
      for k in 0..<n {
        pp[k] -= T(scale * sign * Double(gp[k]) / Swift.max(Double(vp[k]), floor).squareRoot())
      }
    }
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
      s.step = Int(step.item())
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
