/// y = x · Wᵀ + b with W quantized (bitsandbytes' Linear4bit / Linear8bitLt forward). The weight is frozen:
/// backward gives x (and the bias) their gradients from a dequantized temporary, so QLoRA adapters train
/// through it without the float weight being kept.
public func quantizedLinear(_ x: Tensor, weight: QuantizedWeight, bias: Tensor? = nil) -> Tensor {
  let k = weight.inFeatures, n = weight.outFeatures
  guard x.rank >= 1, x.shape.last == k else {
    opFailure(LoomError("quantizedLinear: input shape \(x.shape) does not match the weight's in_features \(k)"))
  }
  if let bias, bias.shape != [n] {
    opFailure(LoomError("quantizedLinear: bias shape \(bias.shape) does not match out_features \(n)"))
  }
  if x.dtype.isHalf {
    // bitsandbytes' compute dtype: a half-precision model's activations go through the float32
    // kernel and come back in their type (differentiably, for QLoRA).
    return quantizedLinear(x.to(.float32), weight: weight, bias: bias?.to(.float32)).to(x.dtype)
  }
  guard x.dtype == .float32 else {
    opFailure(LoomError("quantizedLinear: input dtype \(x.dtype) must be float32, bfloat16 or float16"))
  }
  let lead = Array(x.shape.dropLast())
  let x2 = x.detach().reshape([-1, k]).contiguous()
  let backend = x.backend
  let y: Tensor
  if x2.shape[0] <= Quantization.fusedRowLimit {
    y = backend.quantizedLinear(x2, weight: weight, bias: bias?.detach())
  } else {
    y = backend.linear(x2, weight: backend.dequantize(weight), bias: bias?.detach(), weightIsInputMajor: false)
  }
  var inputs = [x]
  if let bias { inputs.append(bias) }
  return y.reshape(lead + [n]).recorded("QuantizedLinearBackward", inputs: inputs) { g, _ in
    let g2 = g.reshape([-1, n])
    let gx = x.requiresGrad ? g2.matmul(Quantization.dequantize(weight)).reshape(x.shape) : nil
    let gb = (bias?.requiresGrad ?? false) ? g2.sum(dim: 0) : nil
    return bias == nil ? [gx] : [gx, gb]
  }
}
