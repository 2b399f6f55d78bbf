extension Tensor {
  /// Elementwise binary cross-entropy of probabilities `self` against `target` (same
  /// shape): −[t·log p + (1 − t)·log(1 − p)] with each log floored at −100, as PyTorch's
  /// `binary_cross_entropy(reduction="none")`. One fused pass forward and backward
  /// (the VAE's reconstruction term); second order and target gradients go through the
  /// composite definition.
  public func binaryCrossEntropy(_ target: Tensor) -> Tensor {
    guard shape == target.shape else {
      opFailure(LoomError("binaryCrossEntropy: input \(shape) and target \(target.shape) must have the same shape"))
    }
    let p = self, t = target
    if !target.requiresGrad || !GradMode.isEnabled, let out = backend.binaryCrossEntropy(p.detach(), t.detach()) {
      return out.recorded("BinaryCrossEntropyBackward", inputs: [p, t]) { g, _ in
        if GradMode.isEnabled || t.requiresGrad {
          return compositeGradients(inputs: [p, t], gradOutput: g) { Tensor.compositeBCE($0[0]!, $0[1]!) }
        }
        return [p.backend.binaryCrossEntropyBackward(p.detach(), t.detach(), gradOutput: g), nil]
      }
    }
    return Tensor.compositeBCE(p, t)
  }

  static func compositeBCE(_ p: Tensor, _ t: Tensor) -> Tensor {
    let logP = p.log().clamp(min: -100)
    let log1mP = (1 - p).log().clamp(min: -100)
    return -(t * logP + (1 - t) * log1mP)
  }
}
