import CLoomKernels

/// bitsandbytes' 8-bit optimizer state on the CPU: the fused blockwise kernel (optim8bit.c).
extension CPUBackend {
  public func adam8bitStep(param p: Tensor, grad g: Tensor, state s: QuantizedAdamState, _ o: AdamStepOptions) {
    precondition(p.dtype == .float32 && g.dtype == .float32, "Loom: 8-bit Adam needs float32 parameters and gradients")
    precondition(s.blockSize <= 4096, "Loom: 8-bit Adam block size is at most 4096, got \(s.blockSize)")
    loom_adam8bit_step_f32(
      p.pointer(as: Float.self), g.pointer(as: Float.self), s.state1.pointer(as: UInt8.self),
      s.state2.pointer(as: UInt8.self), s.absmax1.pointer(as: Float.self), s.absmax2.pointer(as: Float.self),
      s.qmap1.pointer(as: Float.self), s.qmap2.pointer(as: Float.self), Int64(p.count), Int64(s.blockSize),
      Float(o.lr), Float(o.beta1), Float(o.beta2), Float(o.eps), Float(o.weightDecay), Int64(o.step))
  }

  public func quantizeBlockwise(_ x: Tensor, code: Tensor, blockSize: Int) -> (codes: Tensor, absmax: Tensor) {
    let xc = x.to(.float32).contiguous()
    let q = Tensor(empty: x.shape, dtype: .uint8, device: .cpu)
    let absmax = Tensor(empty: [(x.count + blockSize - 1) / blockSize], device: .cpu)
    loom_quantize_blockwise_f32(
      xc.pointer(as: Float.self), code.contiguous().pointer(as: Float.self), q.pointer(as: UInt8.self),
      absmax.pointer(as: Float.self), Int64(x.count), Int64(blockSize))
    return (q, absmax)
  }

  public func dequantizeBlockwise(_ q: Tensor, absmax: Tensor, code: Tensor, blockSize: Int) -> Tensor {
    let out = Tensor(empty: q.shape, device: .cpu)
    loom_dequantize_blockwise_f32(
      q.contiguous().pointer(as: UInt8.self), code.contiguous().pointer(as: Float.self),
      absmax.contiguous().pointer(as: Float.self), out.pointer(as: Float.self), Int64(q.count), Int64(blockSize))
    return out
  }
}
