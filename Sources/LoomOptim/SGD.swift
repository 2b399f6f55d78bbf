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
          p.backend.sgdStep(
            param: p, grad: g, momentumBuffer: momentum != 0 ? buf : nil,
            SGDStepOptions(
              lr: group.lr, momentum: momentum, dampening: dampening, weightDecay: group.weightDecay,
              nesterov: nesterov, firstStep: first))
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
