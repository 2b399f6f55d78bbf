import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomOptim
import LoomTrain

/// Denoising-diffusion training as diffusers' example scripts do it, as a Trainer subclass that overrides
/// `computeLoss` (ε- or v-prediction MSE at uniform random timesteps, noise from the global generator, so
/// resuming continues the same draws), `optimizerStep` (then an EMA update) and `saveModel` (a diffusers
/// pipeline folder). Class-conditional models get their labels replaced by the null label (the last
/// class-embedding row) with probability `labelDropout`, so one model serves classifier-free guidance.
open class DiffusionTrainer<Denoiser: DiffusionDenoiser>: Trainer {
  public let denoiser: Denoiser
  public let noiseScheduler: DDPMScheduler
  public let ema: EMAModel?
  public let labelDropout: Double
  /// model_index.json's `_class_name` (DDPMPipeline for a U-Net, DiTPipeline for a DiT).
  public let pipelineClassName: String

  public init(
    denoiser: Denoiser, scheduler: DDPMScheduler, args: TrainingArguments, trainDataset: any TrainingDataset,
    evalDataset: (any TrainingDataset)? = nil, ema: EMAModel? = nil, labelDropout: Double = 0.1,
    pipelineClassName: String, callbacks: [TrainerCallback] = []
  ) throws {
    guard (0..<1).contains(labelDropout) else {
      throw LoomError("class label dropout must be in [0, 1), got \(labelDropout)")
    }
    _ = try DiffusionLoss.target(
      scheduler.config.predictionType, scheduler: scheduler, clean: Tensor.zeros([1]), noise: Tensor.zeros([1]),
      timesteps: [0])
    self.denoiser = denoiser
    noiseScheduler = scheduler
    self.ema = ema
    self.labelDropout = labelDropout
    self.pipelineClassName = pipelineClassName
    super.init(model: denoiser, args: args, trainDataset: trainDataset, evalDataset: evalDataset, callbacks: callbacks)
    throughputUnit = .samples
  }

  /// The label standing for "no class" (nil for an unconditional model).
  public var nullClassLabel: Int? { denoiser.classEmbeddingRows.map { $0 - 1 } }

  /// The loss of one batch (`pixel_values`, `class_labels` for a class-conditional model).
  public func diffusionLoss(_ inputs: Batch) throws -> Tensor {
    guard let clean = inputs[Batch.Key.pixelValues] else {
      throw LoomError("diffusion training batches need pixel_values")
    }
    let n = clean.shape[0]
    let noise = Tensor.randn(clean.shape, dtype: clean.dtype, device: clean.device)
    let timesteps = Tensor.randint(0, noiseScheduler.config.numTrainTimesteps, [n], device: .cpu)
      .toArray(Int64.self).map(Int.init)
    let labels = try classLabels(inputs, count: n)
    return try DiffusionLoss.compute(
      model: { try self.denoiser.denoise($0, timesteps: $1, classLabels: $2) }, scheduler: noiseScheduler,
      clean: clean, noise: noise, timesteps: timesteps, classLabels: labels
    ).loss
  }

  /// The batch's labels with DiT's `token_drop`: each replaced by the null label with probability p.
  func classLabels(_ inputs: Batch, count n: Int) throws -> Tensor? {
    guard let null = nullClassLabel else { return nil }
    guard let given = inputs[DiffusionImageDataset.classLabelsKey] else {
      throw LoomError("this model is class-conditional; the batches need class_labels")
    }
    var labels = given.toArray(Int64.self)
    if let bad = labels.first(where: { $0 < 0 || $0 >= null }) {
      throw LoomError(
        "class label \(bad) is out of range 0..<\(null) for this model (\(null + 1) class-embedding rows, the last "
          + "the null label)")
    }
    if labelDropout > 0 {
      let drop = Tensor.rand([n], device: .cpu).toArray(Float.self)
      for i in 0..<n where Double(drop[i]) < labelDropout { labels[i] = Int64(null) }
    }
    return Tensor(labels, shape: [n], device: given.device)
  }

  open override func computeLoss(model: Module, inputs: Batch) -> LossOutput {
    do { return LossOutput(loss: try diffusionLoss(inputs)) } catch {
      fatalError("Loom: diffusion training: \(error)")
    }
  }

  /// Evaluation: the same objective on the evaluation images (fresh noise and timesteps each time).
  open override func predictionStep(model: Module, inputs: Batch, predictionLossOnly: Bool)
    -> PredictionStepOutput
  {
    let inputs = prepareInputs(inputs)
    return noGrad {
      do { return (LossOutput(loss: try diffusionLoss(inputs).detach()), nil, nil) } catch {
        fatalError("Loom: diffusion evaluation: \(error)")
      }
    }
  }

  open override func optimizerStep(optimizer: any Optimizer, scheduler: LRScheduler) throws {
    try super.optimizerStep(optimizer: optimizer, scheduler: scheduler)
    try ema?.step(denoiser)
  }

  /// Checks the first batch before any step, and puts the EMA back where a resumed checkpoint left it.
  @discardableResult
  open override func train() throws -> TrainerState {
    if trainDataset.count > 0 {
      let batch = prepareInputs(trainDataset.batch([0]))
      _ = try noGrad { try diffusionLoss(batch) }
    }
    if let ema, let checkpoint = try Trainer.resumeCheckpoint(args) {
      let weights = "\(checkpoint)/\(denoiser.componentName)/diffusion_pytorch_model.safetensors"
      let saved = try Trainer.readTrainerState(checkpoint + "/trainer_state.json")
      try ema.load(try SafeTensors.load(weights, as: .float32), optimizationStep: saved.globalStep)
    }
    return try super.train()
  }

  /// The denoiser with the EMA weights (the trained weights without EMA).
  public func averagedDenoiser() throws -> Denoiser {
    guard let ema else { return denoiser }
    let copy = try denoiser.sameArchitecture().to(device: denoiser.parameters().first?.device ?? .cpu)
    try ema.copy(to: copy)
    return copy
  }

  /// A diffusers pipeline folder: model_index.json, scheduler/, the denoiser's folder with the EMA weights,
  /// plus model.safetensors with the raw weights (what a resumed run continues from).
  open override func saveModel(_ outputDir: String) throws {
    try DiffusionPipelineFiles.save(
      pipelineClassName: pipelineClassName, denoiser: try averagedDenoiser(), scheduler: noiseScheduler,
      to: outputDir)
    try SafeTensors.save(denoiser.stateDict(), metadata: ["format": "pt"], to: outputDir + "/model.safetensors")
  }
}
