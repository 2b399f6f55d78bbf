import LoomCore

/// The sampling loop behind `loom sample`: a U-Net or DiT, any DDPM / DDIM scheduler, optional class labels and
/// classifier-free guidance. Returns the final latents in the model's value range (diffusers'
/// pipelines then map them to [0, 1] with `(x / 2 + 0.5).clamp(0, 1)`).
public struct DiffusionSampler {
  public let denoiser: any DiffusionDenoiser
  public let scheduler: any DiffusionScheduler

  public init(denoiser: any DiffusionDenoiser, scheduler: any DiffusionScheduler) {
    self.denoiser = denoiser
    self.scheduler = scheduler
  }

  public init(unet: UNet2DModel, scheduler: any DiffusionScheduler) {
    self.init(denoiser: unet, scheduler: scheduler)
  }

  /// The label that stands for "no class" under guidance: the last class-embedding row, the one
  /// `DiffusionTrainer` (and DiT's label dropout) trains for dropped labels: K classes → K + 1 rows.
  public var nullClassLabel: Int? { denoiser.classEmbeddingRows.map { $0 - 1 } }

  /// Runs the reverse process from `noise` [N, C, H, W]. `guidanceScale` > 1 mixes the conditional and
  /// null-label outputs as ε_u + g·(ε_c − ε_u) (diffusers' classifier-free guidance).
  public func callAsFunction(
    noise: Tensor, numInferenceSteps: Int, eta: Double = 0, classLabels: [Int]? = nil,
    guidanceScale: Double = 1,
    generator: Generator = .global
  ) throws -> Tensor {
    let channels = denoiser.inChannels
    guard noise.rank == 4, noise.shape[1] == channels else {
      throw LoomError("noise must be [N, \(channels), H, W] for this model, got \(noise.shape)")
    }
    let n = noise.shape[0]
    if let labels = classLabels, labels.count != n {
      throw LoomError("\(labels.count) class labels for \(n) images; give one label per image")
    }
    let guided = guidanceScale > 1
    if guided {
      guard let null = nullClassLabel, let labels = classLabels else {
        throw LoomError(
          "guidance scale \(guidanceScale) needs a class-conditional model and class labels")
      }
      if let bad = labels.first(where: { $0 < 0 || $0 >= null }) {
        throw LoomError(
          "class label \(bad) is out of range 0..<\(null) under guidance (label \(null) is the null class)"
        )
      }
    }
    guard numInferenceSteps >= 1 else {
      throw LoomError("num inference steps must be >= 1, got \(numInferenceSteps)")
    }
    try scheduler.setTimesteps(numInferenceSteps)
    let labelTensor = classLabels.map { Tensor($0.map(Int64.init), shape: [n]) }
    let doubledLabels = classLabels.flatMap { labels in
      nullClassLabel.map {
        Tensor((Array(repeating: $0, count: n) + labels).map(Int64.init), shape: [2 * n])
      }
    }
    return try noGrad {
      var x = noise
      for t in scheduler.timesteps {
        let out: Tensor
        if guided, let doubledLabels {
          let both = try denoiser.denoise(Tensor.cat([x, x]), timesteps: [t], classLabels: doubledLabels)
          let halves = both.chunk(2)
          out = halves[0] + guidanceScale * (halves[1] - halves[0])
        } else {
          out = try denoiser.denoise(x, timesteps: [t], classLabels: labelTensor)
        }
        x = try step(out, t: t, x: x, eta: eta, generator: generator)
      }
      return x
    }
  }

  private func step(_ out: Tensor, t: Int, x: Tensor, eta: Double, generator: Generator) throws
    -> Tensor
  {
    switch scheduler {
    case let ddim as DDIMScheduler:
      return try ddim.step(out, timestep: t, sample: x, eta: eta, generator: generator).prevSample
    case let ddpm as DDPMScheduler:
      guard eta == 0 else {
        throw LoomError("eta \(eta) applies to DDIM only; DDPM sampling has no eta")
      }
      return try ddpm.step(out, timestep: t, sample: x, generator: generator).prevSample
    default:
      throw LoomError(
        "sampling with \(type(of: scheduler).className) is not supported (DDPM or DDIM)")
    }
  }
}
