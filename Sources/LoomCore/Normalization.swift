import CLoomKernels

/// Layer normalisation over the last dimension (PyTorch `F.layer_norm` with
/// normalized_shape = [C]); weight and bias optional. Fused for float32.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) -> Tensor {
  let cols = x.shape.last ?? 1
  for (name, p) in [("weight", weight), ("bias", bias)] {
    if let p, p.shape != [cols] {
      opFailure(LoomError("layerNorm: \(name) shape \(p.shape) does not match normalized shape [\(cols)] of input \(x.shape)"))
    }
  }
  if x.dtype != .float32 {
    return layerNormComposite(x, weight, bias, eps)
  }
  let xc = x.detach().contiguous()
  let rows = x.count / Swift.max(cols, 1)
  let wc = weight?.detach().contiguous(), bc = bias?.detach().contiguous()
  let y = Tensor(empty: x.shape, dtype: .float32)
  let mean = Tensor(empty: [rows], dtype: .float32), rstd = Tensor(empty: [rows], dtype: .float32)
  loom_layer_norm_f32(
    xc.pointer(as: Float.self), wc?.pointer(as: Float.self), bc?.pointer(as: Float.self), Float(eps),
    y.pointer(as: Float.self), mean.pointer(as: Float.self), rstd.pointer(as: Float.self), Int64(rows), Int64(cols))
  var inputs = [x]
  if let weight { inputs.append(weight) }
  if let bias { inputs.append(bias) }
  return y.recorded("NativeLayerNormBackward", inputs: inputs) { g, _ in
    if GradMode.isEnabled {
      return compositeGradients(inputs: inputs, gradOutput: g) { ins in
        layerNormComposite(ins[0]!, weight == nil ? nil : ins[1], bias == nil ? nil : ins[weight == nil ? 1 : 2], eps)
      }
    }
    let gc = g.contiguous()
    let gx = Tensor(empty: x.shape, dtype: .float32)
    let gw = weight.map { _ in Tensor.zeros([cols]) }
    let gb = bias.map { _ in Tensor.zeros([cols]) }
    loom_layer_norm_backward_f32(
      gc.pointer(as: Float.self), xc.pointer(as: Float.self), wc?.pointer(as: Float.self), mean.pointer(as: Float.self),
      rstd.pointer(as: Float.self), gx.pointer(as: Float.self), gw?.pointer(as: Float.self), gb?.pointer(as: Float.self),
      Int64(rows), Int64(cols))
    var result: [Tensor?] = [gx]
    if weight != nil { result.append(gw) }
    if bias != nil { result.append(gb) }
    return result
  }
}

func layerNormComposite(_ x: Tensor, _ w: Tensor?, _ b: Tensor?, _ eps: Double) -> Tensor {
  let mu = x.mean(dim: -1, keepDim: true)
  let xc = x - mu
  let variance = xc.square().mean(dim: -1, keepDim: true)
  var y = xc * (variance + eps).rsqrt()
  if let w { y = y * w }
  if let b { y = y + b }
  return y
}

/// RMS normalisation over the last dimension: x / sqrt(mean(x²) + eps) · weight.
public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Double = 1e-6) -> Tensor {
  let cols = x.shape.last ?? 1
  if let weight, weight.shape != [cols] {
    opFailure(LoomError("rmsNorm: weight shape \(weight.shape) does not match normalized shape [\(cols)] of input \(x.shape)"))
  }
  if x.dtype != .float32 { return rmsNormComposite(x, weight, eps) }
  let xc = x.detach().contiguous()
  let rows = x.count / Swift.max(cols, 1)
  let wc = weight?.detach().contiguous()
  let y = Tensor(empty: x.shape, dtype: .float32)
  let rstd = Tensor(empty: [rows], dtype: .float32)
  loom_rms_norm_f32(xc.pointer(as: Float.self), wc?.pointer(as: Float.self), Float(eps), y.pointer(as: Float.self), rstd.pointer(as: Float.self), Int64(rows), Int64(cols))
  let inputs = weight.map { [x, $0] } ?? [x]
  return y.recorded("RmsNormBackward", inputs: inputs) { g, _ in
    if GradMode.isEnabled {
      return compositeGradients(inputs: inputs, gradOutput: g) { ins in
        rmsNormComposite(ins[0]!, weight == nil ? nil : ins[1], eps)
      }
    }
    let gc = g.contiguous()
    let gx = Tensor(empty: x.shape, dtype: .float32)
    let gw = weight.map { _ in Tensor.zeros([cols]) }
    loom_rms_norm_backward_f32(gc.pointer(as: Float.self), xc.pointer(as: Float.self), wc?.pointer(as: Float.self), rstd.pointer(as: Float.self), gx.pointer(as: Float.self), gw?.pointer(as: Float.self), Int64(rows), Int64(cols))
    return weight == nil ? [gx] : [gx, gw]
  }
}

func rmsNormComposite(_ x: Tensor, _ w: Tensor?, _ eps: Double) -> Tensor {
  let y = x * (x.square().mean(dim: -1, keepDim: true) + eps).rsqrt()
  return w.map { y * $0 } ?? y
}

/// Inverted dropout: zeroes elements with probability p and scales the rest by 1/(1-p).
public func dropout(_ x: Tensor, p: Double, training: Bool = true, generator: Generator = .global) -> Tensor {
  guard (0...1).contains(p) else { opFailure(LoomError("dropout: p must be in [0, 1], got \(p)")) }
  if !training || p == 0 { return x }
  if p == 1 { return x * 0 }
  let mask = Tensor.bernoulli(x.shape, p: 1 - p, dtype: x.dtype, generator: generator)
  return x * (mask * (1 / (1 - p)))
}
