import LoomCore

/// RMSprop with PyTorch's defaults and update (not centred, no momentum):
/// v ← α·v + (1 − α)·g², p ← p − lr·g / (√v + ε); L2 weight decay adds wd·p to g.
/// WGAN's optimizer (lr 5e-5): momentum-free, which the WGAN paper found stabler.
public final class RMSprop: Optimizer {
  public var paramGroups: [ParamGroup]
  public let alpha: Double, eps: Double
  var steps: [ObjectIdentifier: Int] = [:]
  var squareAverages: [ObjectIdentifier: Tensor] = [:]

  public init(_ groups: [ParamGroup], alpha: Double = 0.99, eps: Double = 1e-8) {
    paramGroups = groups
    self.alpha = alpha
    self.eps = eps
  }

  public convenience init(
    _ params: [Tensor], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8, weightDecay: Double = 0
  ) {
    self.init([ParamGroup(params: params, lr: lr, weightDecay: weightDecay)], alpha: alpha, eps: eps)
  }

  public func step() {
    noGrad {
      for group in paramGroups {
        for p in group.params {
          guard var g = p.grad else { continue }
          let id = ObjectIdentifier(p)
          steps[id, default: 0] += 1
          if group.weightDecay != 0 { g = g + p * group.weightDecay }
          let v0 = squareAverages[id] ?? Tensor.zeros(like: p)
          let v = v0 * alpha + g.square() * (1 - alpha)
          squareAverages[id] = v.contiguousCopy()
          p.copyIn(p - g / (v.sqrt() + eps) * group.lr)
        }
      }
    }
  }

  public func stateDict() -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (i, p) in allParameters.enumerated() {
      let id = ObjectIdentifier(p)
      guard let v = squareAverages[id] else { continue }
      out["\(i).square_avg"] = v
      out["\(i).step"] = Tensor(scalar: Int64(steps[id] ?? 0))
    }
    return out
  }

  public func loadStateDict(_ state: [String: Tensor]) throws {
    for (i, p) in allParameters.enumerated() {
      guard let v = state["\(i).square_avg"] else { continue }
      guard let s = state["\(i).step"] else { throw OptimizerStateError.missing("\(i).step") }
      guard v.shape == p.shape else {
        throw LoomError("optimizer state: parameter \(i) has shape \(p.shape) but its square_avg has \(v.shape)")
      }
      let id = ObjectIdentifier(p)
      squareAverages[id] = v.to(p.dtype).contiguousCopy().detach()
      steps[id] = try savedStep(s, key: "\(i).step")
    }
  }
}
