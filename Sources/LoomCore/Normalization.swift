/// Layer normalisation over the last dimension (PyTorch `F.layer_norm` with
/// normalized_shape = [C]); weight and bias optional. Fused for float32.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) -> Tensor {
  let cols = x.shape.last ?? 1
  for (name, p) in [("weight", weight), ("bias", bias)] {
    if let p, p.shape != [cols] {
      opFailure(LoomError("layerNorm: \(name) shape \(p.shape) does not match normalized shape [\(cols)] of input \(x.shape)"))
    }
  }
  if x.dtype.isHalf {
    // torch's CPU kernel: float32 statistics, the output in the input's type.
    let operands: [Tensor] = [x] + [weight, bias].compactMap { $0 }
    return computedInFloat32(operands, as: x.dtype) { t in
      layerNorm(t[0], weight: weight == nil ? nil : t[1], bias: bias == nil ? nil : t[weight == nil ? 1 : 2], eps: eps)
    }
  }
  if x.dtype != .float32 {
    return layerNormComposite(x, weight, bias, eps)
  }
  let xc = x.detach().contiguous()
  let wc = weight?.detach(), bc = bias?.detach()
  let (y, mean, rstd) = x.backend.layerNorm(xc, weight: wc, bias: bc, eps: eps)
  var inputs = [x]
  if let weight { inputs.append(weight) }
  if let bias { inputs.append(bias) }
  return y.recorded("NativeLayerNormBackward", inputs: inputs) { g, _ in
    if GradMode.isEnabled {
      return compositeGradients(inputs: inputs, gradOutput: g) { ins in
        layerNormComposite(ins[0]!, weight == nil ? nil : ins[1], bias == nil ? nil : ins[weight == nil ? 1 : 2], eps)
      }
    }
    let (gx, gw, gb) = xc.backend.layerNormBackward(
      g, input: xc, weight: wc, mean: mean, rstd: rstd, needsWeightGrad: weight != nil, needsBiasGrad: bias != nil)
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
  if x.dtype.isHalf {
    let operands: [Tensor] = weight.map { [x, $0] } ?? [x]
    return computedInFloat32(operands, as: x.dtype) { t in
      rmsNorm(t[0], weight: t.count > 1 ? t[1] : nil, eps: eps)
    }
  }
  if x.dtype != .float32 { return rmsNormComposite(x, weight, eps) }
  let xc = x.detach().contiguous()
  let wc = weight?.detach()
  let (y, rstd) = x.backend.rmsNorm(xc, weight: wc, eps: eps)
  let inputs = weight.map { [x, $0] } ?? [x]
  return y.recorded("RmsNormBackward", inputs: inputs) { g, _ in
    if GradMode.isEnabled {
      return compositeGradients(inputs: inputs, gradOutput: g) { ins in
        rmsNormComposite(ins[0]!, weight == nil ? nil : ins[1], eps)
      }
    }
    let (gx, gw) = xc.backend.rmsNormBackward(g, input: xc, weight: wc, rstd: rstd)
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
  // Half types draw and scale the mask in float32 (the fast fill; the same draws); the product
  // is rounded once, round(x / (1 - p)) as torch's bf16 dropout gives.
  let maskType: DType = x.dtype.isHalf ? .float32 : x.dtype
  let mask = Tensor.bernoulli(x.shape, p: 1 - p, dtype: maskType, generator: generator, device: x.device)
  if x.dtype.isHalf { return (x * (mask * (1 / (1 - p)))).to(x.dtype) }
  return x * (mask * (1 / (1 - p)))
}
