/// Support for fused ops: a fused kernel computes forward and first-order backward;
/// when a graph of the gradient is requested (createGraph) the backward instead
/// re-derives the gradient from the op's composite definition, so second-order
/// gradients (e.g. WGAN-GP's penalty) flow through fused ops too.
func compositeGradients(
  inputs: [Tensor?], gradOutput: Tensor, composite: ([Tensor?]) -> Tensor
) -> [Tensor?] {
  let out = composite(inputs)
  let wanted = inputs.compactMap { t in t.flatMap { $0.requiresGrad ? $0 : nil } }
  let grads = gradients(of: [out], wrt: wanted, gradOutputs: [gradOutput], createGraph: true)
  var it = grads.makeIterator()
  return inputs.map { t in
    guard let t, t.requiresGrad else { return nil }
    return it.next() ?? nil
  }
}
