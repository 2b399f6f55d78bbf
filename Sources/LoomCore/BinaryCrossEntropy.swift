import CLoomKernels

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

extension CPUBackend {
  public func binaryCrossEntropy(_ p: Tensor, _ t: Tensor) -> Tensor? {
    guard p.dtype == .float32, t.dtype == .float32 else { return nil }
    let pc = p.contiguous(), tc = t.contiguous()
    let out = Tensor(empty: p.shape)
    loom_bce_f32(pc.pointer(as: Float.self), tc.pointer(as: Float.self), out.pointer(as: Float.self), Int64(p.count))
    return out
  }

  public func binaryCrossEntropyBackward(_ p: Tensor, _ t: Tensor, gradOutput g: Tensor) -> Tensor? {
    guard p.dtype == .float32, t.dtype == .float32, g.dtype == .float32 else { return nil }
    let pc = p.contiguous(), tc = t.contiguous()
    let gx = Tensor(empty: p.shape)
    // A broadcast scalar gradient (sum/mean reductions) is passed as one number.
    if g.strides.allSatisfy({ $0 == 0 }) {
      let s = Float(g.reshape([-1]).narrow(dim: 0, start: 0, length: 1).item())
      loom_bce_backward_f32(pc.pointer(as: Float.self), tc.pointer(as: Float.self), nil, s, gx.pointer(as: Float.self), Int64(p.count))
    } else {
      let gc = g.contiguous()
      loom_bce_backward_f32(
        pc.pointer(as: Float.self), tc.pointer(as: Float.self), gc.pointer(as: Float.self), 0, gx.pointer(as: Float.self),
        Int64(p.count))
    }
    return gx
  }
}
