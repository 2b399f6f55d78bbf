/// How per-element losses are combined (PyTorch's `reduction`).
public enum Reduction: String, Sendable {
  case mean, sum, none
}

/// Cross-entropy between logits [N, C] (or [..., C]) and integer targets [N] (or [...]),
/// with PyTorch's semantics: rows whose target is `ignoreIndex` are skipped (and not
/// counted by the mean), `labelSmoothing` mixes in the uniform distribution.
/// One fused pass computes log-sum-exp and the loss; backward is one more pass.
public func crossEntropy(
  _ logits: Tensor, _ targets: Tensor, ignoreIndex: Int = -100, labelSmoothing: Double = 0,
  reduction: Reduction = .mean
) -> Tensor {
  if Autocast.isEnabled {
    return Autocast.inFloat32([logits]) {
      crossEntropy($0[0], targets, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, reduction: reduction)
    }
  }
  if logits.dtype.isHalf {
    return computedInFloat32([logits], as: logits.dtype) {
      crossEntropy($0[0], targets, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, reduction: reduction)
    }
  }
  guard logits.rank >= 1 else { opFailure(LoomError("crossEntropy: logits must have a class dimension, got a scalar")) }
  let classes = logits.shape[logits.rank - 1]
  guard targets.shape == Array(logits.shape.dropLast()) else {
    opFailure(LoomError("crossEntropy: targets shape \(targets.shape) does not match logits shape \(logits.shape) (expected \(Array(logits.shape.dropLast())))"))
  }
  guard (0...1).contains(labelSmoothing) else {
    opFailure(LoomError("crossEntropy: labelSmoothing must be in [0, 1], got \(labelSmoothing)"))
  }
  let t = targets.checkedIndex("crossEntropy").reshape([-1])
  let x = logits.reshape([-1, classes])
  let rows = x.shape[0]
  let tp = t.int64s
  for i in 0..<rows where tp[i] != Int64(ignoreIndex) && (tp[i] < 0 || tp[i] >= Int64(classes)) {
    opFailure(LoomError("crossEntropy: target \(tp[i]) at position \(i) is out of range for \(classes) classes"))
  }
  if logits.dtype != .float32 {
    return crossEntropyComposite(x, t, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, reduction: reduction, outShape: targets.shape)
  }
  let xc = x.detach().contiguous()
  let (perRow, lse, valid) = x.backend.crossEntropy(xc, targets: t, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
  let out: Tensor
  switch reduction {
  case .none: out = perRow.reshape(targets.shape)
  case .sum: out = perRow.sum()
  case .mean:
    // PyTorch returns NaN when every target is ignored.
    out = perRow.sum() * (1 / Double(valid))
  }
  let targetShape = targets.shape
  return out.recorded("NllLossBackward", inputs: [x]) { g, _ in
    if GradMode.isEnabled {
      return compositeGradients(inputs: [x], gradOutput: g) { ins in
        crossEntropyComposite(ins[0]!, t, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, reduction: reduction, outShape: targetShape)
      }
    }
    // Per-row upstream gradient.
    let grow: Tensor
    switch reduction {
    case .none: grow = g.reshape([rows]).contiguous()
    case .sum: grow = Tensor.full([rows], g.item(), device: g.device)
    case .mean: grow = Tensor.full([rows], g.item() / Double(valid), device: g.device)
    }
    let dx = xc.backend.crossEntropyBackward(
      xc, targets: t, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, logSumExp: lse, rowGradients: grow)
    return [dx]
  }
}

/// The same loss from differentiable primitives (float64 and second-order gradients).
func crossEntropyComposite(
  _ x: Tensor, _ t: Tensor, ignoreIndex: Int, labelSmoothing: Double, reduction: Reduction, outShape: [Int]
) -> Tensor {
  let classes = x.shape[1]
  let keep = (t != Double(ignoreIndex))
  let safeT = Tensor.where(keep, t, Tensor.zeros([], dtype: .int64, device: t.device))
  let logp = x.logSoftmax(dim: 1)
  let nll = -logp.gather(dim: 1, index: safeT.unsqueeze(1)).squeeze(1)
  var loss = nll
  if labelSmoothing > 0 {
    let smooth = -logp.sum(dim: 1) * (1 / Double(classes))
    loss = nll * (1 - labelSmoothing) + smooth * labelSmoothing
  }
  loss = Tensor.where(keep, loss, Tensor.zeros([], dtype: x.dtype, device: x.device))
  switch reduction {
  case .none: return loss.reshape(outShape)
  case .sum: return loss.sum()
  case .mean:
    let valid = keep.toArray(Bool.self).filter { $0 }.count
    return loss.sum() * (1 / Double(valid))
  }
}
