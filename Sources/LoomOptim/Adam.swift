import Foundation
import LoomCore

/// Adam and AdamW with PyTorch's update rules (bias-corrected moments; AdamW decays
/// weights decoupled from the gradient, Adam adds L2 decay to the gradient). Float32
/// parameters update with one fused kernel pass each.
public final class Adam: Optimizer {
  public var paramGroups: [ParamGroup]
  public let beta1: Double, beta2: Double, eps: Double
  public let decoupledWeightDecay: Bool
  var steps: [ObjectIdentifier: Int] = [:]
  var moments: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]

  public init(
    _ groups: [ParamGroup], betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
    decoupledWeightDecay: Bool = false
  ) {
    paramGroups = groups
    beta1 = betas.0
    beta2 = betas.1
    self.eps = eps
    self.decoupledWeightDecay = decoupledWeightDecay
  }

  public convenience init(
    _ params: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
    weightDecay: Double = 0
  ) {
    self.init([ParamGroup(params: params, lr: lr, weightDecay: weightDecay)], betas: betas, eps: eps)
  }

  public func step() {
    noGrad {
      for group in paramGroups {
        for p in group.params {
          guard let g = p.grad else { continue }
          let id = ObjectIdentifier(p)
          let t = (steps[id] ?? 0) + 1
          steps[id] = t
          if moments[id] == nil { moments[id] = (Tensor.zeros(like: p), Tensor.zeros(like: p)) }
          let (m, v) = moments[id]!
          update(p, g.contiguous(), m, v, lr: group.lr, weightDecay: group.weightDecay, step: t)
        }
      }
    }
  }

  func update(_ p: Tensor, _ g: Tensor, _ m: Tensor, _ v: Tensor, lr: Double, weightDecay: Double, step: Int) {
    precondition(p.isContiguous, "Adam: parameters must be contiguous")
    p.backend.adamStep(
      param: p, grad: g, expAvg: m, expAvgSq: v,
      AdamStepOptions(
        lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, step: step,
        decoupledWeightDecay: decoupledWeightDecay))
  }

  public func stateDict() -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (i, p) in allParameters.enumerated() {
      let id = ObjectIdentifier(p)
      guard let (m, v) = moments[id] else { continue }
      out["\(i).exp_avg"] = m
      out["\(i).exp_avg_sq"] = v
      out["\(i).step"] = Tensor(scalar: Int64(steps[id] ?? 0))
    }
    return out
  }

  public func loadStateDict(_ state: [String: Tensor]) throws {
    for (i, p) in allParameters.enumerated() {
      guard let m = state["\(i).exp_avg"] else { continue }
      guard let v = state["\(i).exp_avg_sq"] else { throw OptimizerStateError.missing("\(i).exp_avg_sq") }
      guard let s = state["\(i).step"] else { throw OptimizerStateError.missing("\(i).step") }
      guard m.shape == p.shape, v.shape == p.shape else {
        throw LoomError("optimizer state: parameter \(i) has shape \(p.shape) but the saved moments have \(m.shape)")
      }
      let id = ObjectIdentifier(p)
      moments[id] = (m.to(p.dtype).contiguousCopy().detach(), v.to(p.dtype).contiguousCopy().detach())
      steps[id] = try savedStep(s, key: "\(i).step")
    }
  }
}

/// AdamW: Adam with decoupled weight decay (default 0.01, like PyTorch).
public func AdamW(
  _ groups: [ParamGroup], betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8
) -> Adam {
  Adam(groups, betas: betas, eps: eps, decoupledWeightDecay: true)
}

public func AdamW(
  _ params: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
  weightDecay: Double = 0.01
) -> Adam {
  Adam([ParamGroup(params: params, lr: lr, weightDecay: weightDecay)], betas: betas, eps: eps, decoupledWeightDecay: true)
}
