// LoomDiffusion: diffusers' schedulers and pipelines, diffusion and GAN training on the image models.

/// The namespace for diffusion defaults shared by schedulers and pipelines.
public enum Diffusion {
  /// diffusers' default number of training timesteps.
  public static let defaultTrainTimesteps = 1000
}
