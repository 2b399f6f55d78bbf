import LoomCore

/// diffusers' `DDIMPipeline`: DDIM sampling with a `UNet2DModel` from given initial noise,
/// images returned in [0, 1] as [N, C, H, W] (diffusers' `(x / 2 + 0.5).clamp(0, 1)`).
public final class DDIMPipeline {
  public let unet: UNet2DModel
  public let scheduler: DDIMScheduler

  public init(unet: UNet2DModel, scheduler: DDIMScheduler) {
    self.unet = unet
    self.scheduler = scheduler
  }

  /// Runs `numInferenceSteps` steps from `noise` [N, C, H, W]; η > 0 draws variance noise from `generator`.
  public func callAsFunction(
    noise: Tensor, numInferenceSteps: Int = 50, eta: Double = 0, classLabels: Tensor? = nil,
    generator: Generator = .global
  ) throws -> Tensor {
    let c = unet.config
    guard noise.rank == 4, noise.shape[1] == c.inChannels else {
      throw LoomError("DDIMPipeline: noise must be [N, \(c.inChannels), H, W] for this U-Net, got \(noise.shape)")
    }
    try scheduler.setTimesteps(numInferenceSteps)
    return try noGrad {
      var x = noise
      for t in scheduler.timesteps {
        let out = try unet(x, timesteps: [t], classLabels: classLabels)
        x = try scheduler.step(out, timestep: t, sample: x, eta: eta, generator: generator).prevSample
      }
      return (x / 2 + 0.5).clamp(min: 0, max: 1)
    }
  }
}
