import CLoomKernels

/// Convolutions through oneDNN's primitives (conv.c): float32, NCHW.
extension CPUBackend {
  public func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvolutionGeometry) -> Tensor? {
    guard Self.convolutionSupported([x, weight] + (bias.map { [$0] } ?? [])) else { return nil }
    let xc = x.contiguous(), wc = weight.contiguous(), bc = bias?.contiguous()
    let y = Tensor(cpu: g.outputShape, dtype: .float32)
    var s = Self.convShape(g)
    let rc = loom_conv2d_forward_f32(
      &s, xc.pointer(as: Float.self), wc.pointer(as: Float.self), bc?.pointer(as: Float.self),
      y.pointer(as: Float.self))
    return rc == 0 ? y : nil
  }

  public func convolutionBackwardData(_ gradOutput: Tensor, weight: Tensor, _ g: ConvolutionGeometry) -> Tensor? {
    guard Self.convolutionSupported([gradOutput, weight]) else { return nil }
    let gy = gradOutput.contiguous(), wc = weight.contiguous()
    let gx = Tensor(cpu: g.inputShape, dtype: .float32)
    var s = Self.convShape(g)
    let rc = loom_conv2d_backward_data_f32(
      &s, gy.pointer(as: Float.self), wc.pointer(as: Float.self), gx.pointer(as: Float.self))
    return rc == 0 ? gx : nil
  }

  public func convolutionBackwardWeights(_ x: Tensor, gradOutput: Tensor, _ g: ConvolutionGeometry) -> Tensor? {
    guard Self.convolutionSupported([x, gradOutput]) else { return nil }
    let xc = x.contiguous(), gy = gradOutput.contiguous()
    let gw = Tensor(cpu: g.weightShape, dtype: .float32)
    var s = Self.convShape(g)
    let rc = loom_conv2d_backward_weights_f32(
      &s, xc.pointer(as: Float.self), gy.pointer(as: Float.self), gw.pointer(as: Float.self), nil)
    return rc == 0 ? gw : nil
  }

  /// float32 host tensors, and oneDNN present (LOOM_CONV=im2col turns it off).
  static func convolutionSupported(_ tensors: [Tensor]) -> Bool {
    loom_conv_available() != 0 && tensors.allSatisfy { $0.dtype == .float32 && $0.storage.isHostMemory }
  }

  static func convShape(_ g: ConvolutionGeometry) -> loom_conv_shape {
    loom_conv_shape(
      n: Int64(g.batch), c: Int64(g.inChannels), h: Int64(g.height), w: Int64(g.width), o: Int64(g.outChannels),
      oh: Int64(g.outHeight), ow: Int64(g.outWidth), kh: Int64(g.kernelHeight), kw: Int64(g.kernelWidth),
      sh: Int64(g.strideHeight), sw: Int64(g.strideWidth), ph: Int64(g.padHeight), pw: Int64(g.padWidth),
      dh: Int64(g.dilationHeight), dw: Int64(g.dilationWidth), groups: Int64(g.groups))
  }
}
