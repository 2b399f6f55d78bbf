/// Activation checkpointing (`torch.utils.checkpoint`): runs `fn` without recording its
/// graph, keeping only `inputs`, and runs it again in backward to get the gradients.
/// Memory for the activations inside `fn` is traded for a second forward.
///
/// Results are bit-identical to running `fn` directly: the recompute starts from the
/// global generator's (seed, offset) saved at the forward, so dropout draws the same
/// Philox numbers, and the generator is put back afterwards so later draws are untouched.
///
/// - Parameters:
///   - inputs: the tensors `fn` reads that gradients flow to (activations).
///   - parameters: tensors `fn` reads directly (a block's weights); their gradients come
///     back through this node, so they train even when no input requires grad (a frozen
///     embedding under LoRA). Any other tensor `fn` closes over is treated as a constant.
/// Second-order gradients (`createGraph`) through a checkpoint are not supported.
public func checkpoint(
  _ fn: @escaping ([Tensor]) -> Tensor, inputs: [Tensor], parameters: [Tensor] = []
) -> Tensor {
  let params = parameters.filter(\.requiresGrad)
  guard GradMode.isEnabled, !params.isEmpty || inputs.contains(where: \.requiresGrad) else {
    return fn(inputs)
  }
  let rng = Generator.global.state
  let out = noGrad { fn(inputs) }
  let edges = inputs + params
  return out.recorded("CheckpointFunctionBackward", inputs: edges) { g, _ in
    if GradMode.isEnabled {
      opFailure(LoomError("checkpoint: second-order gradients (createGraph) through a checkpointed block are not supported"))
    }
    let now = Generator.global.state
    Generator.global.state = rng
    defer { Generator.global.state = now }
    let replayInputs = inputs.map { $0.requiresGrad ? $0.detach().requiringGrad() : $0.detach() }
    let replayed = enableGrad { fn(replayInputs) }
    guard replayed.requiresGrad else { return edges.map { _ in nil } }
    let wrt = replayInputs.filter(\.requiresGrad) + params
    var grads = gradients(of: [replayed], wrt: wrt, gradOutputs: [g])[...]
    // Back to the node's edge order: one slot per input (nil where it needs no grad), then params.
    let inputGrads: [Tensor?] = inputs.map { $0.requiresGrad ? grads.popFirst()! : nil }
    return inputGrads + Array(grads)
  }
}
