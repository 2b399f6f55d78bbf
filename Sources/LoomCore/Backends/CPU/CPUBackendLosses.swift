import CLoomKernels

extension CPUBackend {
  public func binaryCrossEntropy(_ p: Tensor, _ t: Tensor) -> Tensor? {
    guard p.dtype == .float32, t.dtype == .float32 else { return nil }
    let pc = p.contiguous(), tc = t.contiguous()
    let out = Tensor(cpu: p.shape)
    loom_bce_f32(pc.pointer(as: Float.self), tc.pointer(as: Float.self), out.pointer(as: Float.self), Int64(p.count))
    return out
  }

  public func binaryCrossEntropyBackward(_ p: Tensor, _ t: Tensor, gradOutput g: Tensor) -> Tensor? {
    guard p.dtype == .float32, t.dtype == .float32, g.dtype == .float32 else { return nil }
    let pc = p.contiguous(), tc = t.contiguous()
    let gx = Tensor(cpu: p.shape)
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
