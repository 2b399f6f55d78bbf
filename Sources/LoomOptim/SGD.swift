import CLoomKernels
import LoomCore

/// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and
/// weight decay rules.
public final class SGD: Optimizer {
  public var paramGroups: [ParamGroup]
  public let momentum: Double, dampening: Double, nesterov: Bool
  var buffers: [ObjectIdentifier: Tensor] = [:]

  public init(_ groups: [ParamGroup], momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false) {
    precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum needs momentum > 0 and zero dampening")
    paramGroups = groups
    self.momentum = momentum
    self.dampening = dampening
    self.nesterov = nesterov
  }

  public convenience init(
    _ params: [Tensor], lr: Double, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
    nesterov: Bool = false
  ) {
    self.init([ParamGroup(params: params, lr: lr, weightDecay: weightDecay)], momentum: momentum, dampening: dampening, nesterov: nesterov)
  }

  public func step() {
    noGrad {
      for group in paramGroups {
        for p in group.params {
          guard let g0 = p.grad else { continue }
          let g = g0.contiguous()
          let id = ObjectIdentifier(p)
          let first = buffers[id] == nil
          if momentum != 0 && first { buffers[id] = Tensor.zeros(like: p) }
          let buf = buffers[id]
          if p.dtype == .float32 {
            loom_sgd_step_f32(
              p.pointer(as: Float.self), g.pointer(as: Float.self), buf?.pointer(as: Float.self), Int64(p.count),
              Float(group.lr), Float(momentum), Float(dampening), Float(group.weightDecay), nesterov ? 1 : 0,
              first ? 1 : 0)
          } else {
            let pp = p.pointer(as: Double.self), gp = g.pointer(as: Double.self)
            let bp = buf?.pointer(as: Double.self)
            for i in 0..<p.count {
              var d = gp[i] + group.weightDecay * pp[i]
              if momentum != 0, let bp {
                bp[i] = first ? d : momentum * bp[i] + (1 - dampening) * d
                d = nesterov ? d + momentum * bp[i] : bp[i]
              }
              pp[i] -= group.lr * d
            }
          }
        }
      }
    }
  }

  public func stateDict() -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (i, p) in allParameters.enumerated() { if let b = buffers[ObjectIdentifier(p)] { out["\(i).momentum_buffer"] = b } }
    return out
  }

  public func loadStateDict(_ state: [String: Tensor]) throws {
    for (i, p) in allParameters.enumerated() {
      guard let b = state["\(i).momentum_buffer"] else { continue }
      guard b.shape == p.shape else {
        throw LoomError("optimizer state: parameter \(i) has shape \(p.shape) but its momentum buffer has \(b.shape)")
      }
      buffers[ObjectIdentifier(p)] = b.to(p.dtype).contiguousCopy().detach()
    }
  }
}
