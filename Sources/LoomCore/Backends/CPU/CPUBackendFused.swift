import CLoomKernels

/// Fused softmax, cross-entropy and normalisation kernels (float32).
extension CPUBackend {
  public func softmax(_ x: Tensor, log: Bool) -> Tensor {
    let xc = x.contiguous()
    let cols = x.shape.last ?? 1
    let rows = x.count / Swift.max(cols, 1)
    let y = Tensor(cpu: x.shape, dtype: .float32)
    if log {
      loom_log_softmax_f32(xc.pointer(as: Float.self), y.pointer(as: Float.self), Int64(rows), Int64(cols))
    } else {
      loom_softmax_f32(xc.pointer(as: Float.self), y.pointer(as: Float.self), Int64(rows), Int64(cols))
    }
    return y
  }

  public func softmaxBackward(output: Tensor, gradOutput: Tensor, log: Bool) -> Tensor {
    let y = output.contiguous(), g = gradOutput.contiguous()
    let cols = y.shape.last ?? 1
    let rows = y.count / Swift.max(cols, 1)
    let gx = Tensor(cpu: y.shape, dtype: .float32)
    if log {
      loom_log_softmax_backward_f32(y.pointer(as: Float.self), g.pointer(as: Float.self), gx.pointer(as: Float.self), Int64(rows), Int64(cols))
    } else {
      loom_softmax_backward_f32(y.pointer(as: Float.self), g.pointer(as: Float.self), gx.pointer(as: Float.self), Int64(rows), Int64(cols))
    }
    return gx
  }

  public func crossEntropy(_ logits: Tensor, targets: Tensor, ignoreIndex: Int, labelSmoothing: Double)
    -> (losses: Tensor, logSumExp: Tensor, validCount: Int)
  {
    let x = logits.contiguous(), t = targets.contiguous()
    let (rows, classes) = (x.shape[0], x.shape[1])
    let losses = Tensor(cpu: [rows], dtype: .float32), lse = Tensor(cpu: [rows], dtype: .float32)
    let valid = loom_cross_entropy_f32(
      x.pointer(as: Float.self), t.pointer(as: Int64.self), Int64(ignoreIndex), Float(labelSmoothing),
      losses.pointer(as: Float.self), lse.pointer(as: Float.self), Int64(rows), Int64(classes))
    return (losses, lse, Int(valid))
  }

  public func crossEntropyBackward(
    _ logits: Tensor, targets: Tensor, ignoreIndex: Int, labelSmoothing: Double, logSumExp: Tensor, rowGradients: Tensor
  ) -> Tensor {
    let x = logits.contiguous(), t = targets.contiguous(), g = rowGradients.contiguous()
    let (rows, classes) = (x.shape[0], x.shape[1])
    let dx = Tensor(cpu: [rows, classes], dtype: .float32)
    loom_cross_entropy_backward_f32(
      x.pointer(as: Float.self), t.pointer(as: Int64.self), Int64(ignoreIndex), Float(labelSmoothing),
      logSumExp.pointer(as: Float.self), g.pointer(as: Float.self), dx.pointer(as: Float.self), Int64(rows), Int64(classes))
    return dx
  }

  public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Double) -> (output: Tensor, mean: Tensor, rstd: Tensor) {
    let xc = x.contiguous()
    let cols = x.shape.last ?? 1
    let rows = x.count / Swift.max(cols, 1)
    let wc = weight?.contiguous(), bc = bias?.contiguous()
    let y = Tensor(cpu: x.shape, dtype: .float32)
    let mean = Tensor(cpu: [rows], dtype: .float32), rstd = Tensor(cpu: [rows], dtype: .float32)
    loom_layer_norm_f32(
      xc.pointer(as: Float.self), wc?.pointer(as: Float.self), bc?.pointer(as: Float.self), Float(eps),
      y.pointer(as: Float.self), mean.pointer(as: Float.self), rstd.pointer(as: Float.self), Int64(rows), Int64(cols))
    return (y, mean, rstd)
  }

  public func layerNormBackward(
    _ gradOutput: Tensor, input: Tensor, weight: Tensor?, mean: Tensor, rstd: Tensor, needsWeightGrad: Bool,
    needsBiasGrad: Bool
  ) -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
    let g = gradOutput.contiguous(), x = input.contiguous(), w = weight?.contiguous()
    let cols = x.shape.last ?? 1
    let rows = x.count / Swift.max(cols, 1)
    let gx = Tensor(cpu: x.shape, dtype: .float32)
    let gw = needsWeightGrad ? Tensor.zeros([cols], device: .cpu) : nil
    let gb = needsBiasGrad ? Tensor.zeros([cols], device: .cpu) : nil
    loom_layer_norm_backward_f32(
      g.pointer(as: Float.self), x.pointer(as: Float.self), w?.pointer(as: Float.self), mean.pointer(as: Float.self),
      rstd.pointer(as: Float.self), gx.pointer(as: Float.self), gw?.pointer(as: Float.self), gb?.pointer(as: Float.self),
      Int64(rows), Int64(cols))
    return (gx, gw, gb)
  }

  public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Double) -> (output: Tensor, rstd: Tensor) {
    let xc = x.contiguous(), wc = weight?.contiguous()
    let cols = x.shape.last ?? 1
    let rows = x.count / Swift.max(cols, 1)
    let y = Tensor(cpu: x.shape, dtype: .float32), rstd = Tensor(cpu: [rows], dtype: .float32)
    loom_rms_norm_f32(
      xc.pointer(as: Float.self), wc?.pointer(as: Float.self), Float(eps), y.pointer(as: Float.self),
      rstd.pointer(as: Float.self), Int64(rows), Int64(cols))
    return (y, rstd)
  }

  public func rmsNormBackward(_ gradOutput: Tensor, input: Tensor, weight: Tensor?, rstd: Tensor) -> (input: Tensor, weight: Tensor?) {
    let g = gradOutput.contiguous(), x = input.contiguous(), w = weight?.contiguous()
    let cols = x.shape.last ?? 1
    let rows = x.count / Swift.max(cols, 1)
    let gx = Tensor(cpu: x.shape, dtype: .float32)
    let gw = weight.map { _ in Tensor.zeros([cols], device: .cpu) }
    loom_rms_norm_backward_f32(
      g.pointer(as: Float.self), x.pointer(as: Float.self), w?.pointer(as: Float.self), rstd.pointer(as: Float.self),
      gx.pointer(as: Float.self), gw?.pointer(as: Float.self), Int64(rows), Int64(cols))
    return (gx, gw)
  }
}
