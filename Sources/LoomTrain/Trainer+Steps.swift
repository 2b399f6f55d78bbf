import Foundation
import LoomCore
import LoomNN
import LoomOptim

/// Default implementations of the training pieces (`Trainer`'s open methods call them).
extension Trainer {
  func defaultComputeLoss(_ inputs: Batch) -> LossOutput {
    if let lossFunction { return lossFunction(inputs) }
    if let lossAndLogitsFunction { return lossAndLogitsFunction(inputs).loss }
    preconditionFailure("Trainer: pass a loss closure or override computeLoss(model:inputs:)")
  }

  /// HF's `_prepare_inputs`: the batch on the model's device.
  public func prepareInputs(_ inputs: Batch) -> Batch {
    guard let device = model.parameters().first?.device,
      inputs.tensors.values.contains(where: { $0.device != device })
    else { return inputs }
    return inputs.to(device: device)
  }

  func defaultTrainingStep(model: Module, inputs: Batch) throws -> LossOutput {
    model.train()
    return try lossAndBackward(model: model, inputs: inputs)
  }

  /// The body of HF's `training_step` with the model's mode left to the caller: the forward and
  /// loss (under autocast with bf16 / fp16), the backward scaled for gradient accumulation and the
  /// fp16 loss scaler. A `trainingStep` override should call it, so mixed precision and loss scaling
  /// still apply (DPO's, which runs the policy in eval mode, does).
  public func lossAndBackward(model: Module, inputs: Batch) throws -> LossOutput {
    let batch = prepareInputs(inputs)
    // bf16 / fp16: the forward and the loss under autocast, backward outside it (as torch's
    // recipe); parameters stay float32, so their gradients arrive in float32.
    let output = Autocast.run(dtype: args.mixedPrecision ?? .bfloat16, enabled: args.mixedPrecision != nil) {
      computeLoss(model: model, inputs: batch)
    }
    let accumulation = args.gradientAccumulationSteps
    var loss = accumulation > 1 ? output.loss / Double(accumulation) : output.loss
    if let gradScaler { loss = gradScaler.scaled(loss) }
    loss.backward()
    return output.detached()
  }

  func defaultCreateOptimizer() throws -> any Optimizer {
    let groups = decayGroups(model, lr: args.learningRate, weightDecay: args.weightDecay)
    switch args.optim {
    case .adam:
      let params = model.parameters().filter(\.requiresGrad)
      return Adam(
        [ParamGroup(params: params, lr: args.learningRate, weightDecay: args.weightDecay)],
        betas: (args.adamBeta1, args.adamBeta2),
        eps: args.adamEpsilon)
    case .sgd:
      return SGD(groups, momentum: args.sgdMomentum)
    case .adafactor:
      return Adafactor(groups)
    case .adamwTorch, .adamwTorchFused, .adamw, .adamwHf:
      return AdamW(groups, betas: (args.adamBeta1, args.adamBeta2), eps: args.adamEpsilon)
    case .adamwBnb8bit, .adamw8bit, .adam8bit:
      return Adam8bit(groups, betas: (args.adamBeta1, args.adamBeta2), eps: args.adamEpsilon)
    }
  }

  /// Warmup steps: warmup_steps, else warmup_ratio of the training steps (rounded up).
  func warmupSteps(_ total: Int) -> Int {
    args.warmupSteps > 0 ? args.warmupSteps : Int((args.warmupRatio * Double(total)).rounded(.up))
  }

  func defaultCreateScheduler(numTrainingSteps: Int, optimizer: any Optimizer) throws -> LRScheduler
  {
    let schedule = args.lrSchedulerType.schedule(
      warmupSteps: warmupSteps(numTrainingSteps), totalSteps: numTrainingSteps,
      lrInit: args.learningRate)
    return LRScheduler(optimizer, schedule: schedule)
  }

  func defaultOptimizerStep(optimizer: any Optimizer, scheduler: LRScheduler) {
    // fp16: gradients are unscaled before clipping sees them (torch's recipe).
    gradScaler?.unscale(optimizer)
    if args.maxGradNorm > 0 { clipGradNorm(model.parameters(), maxNorm: args.maxGradNorm) }
    callbackHandler.onPreOptimizerStep(args, state, &control)
    var stepped = true
    if let gradScaler {
      let scale = gradScaler.scale
      stepped = gradScaler.step(optimizer)
      gradScaler.update()
      if !stepped && isWorldProcessZero() {
        FileHandle.standardError.write(
          "step \(state.globalStep + 1): fp16 gradients overflowed (inf/NaN) at loss scale \(scale): optimizer step skipped, loss scale now \(gradScaler.scale)\n"
            .data(using: .utf8)!)
      }
    } else {
      optimizer.step()
    }
    callbackHandler.onOptimizerStep(args, state, &control)
    // HF steps the schedule only when the optimizer ran (accelerate's optimizer_step_was_skipped).
    if stepped { scheduler.step() }
    optimizer.zeroGrad()
  }
}
