import LoomCore
import LoomNN

/// A network the diffusion trainer and sampler drive: ε_θ(x_t, t[, class]) with diffusers' component
/// name and files (`unet` for UNet2DModel, `transformer` for DiT).
public protocol DiffusionDenoiser: Module {
  /// The pipeline folder this component lives in (`unet`, `transformer`).
  var componentName: String { get }
  /// diffusers' class name written to model_index.json.
  var diffusersClassName: String { get }
  /// Input channels and the square image size the model is built for (nil: any the model can halve).
  var inChannels: Int { get }
  /// [height, width] the model is built for (nil: any size it can halve).
  var sampleSize: [Int]? { get }
  /// Number of class-embedding rows (nil: unconditional); the last row is the null label.
  var classEmbeddingRows: Int? { get }
  /// The model output for `sample` [N, C, H, W] at `timesteps` (one, or one per item), only the channels a
  /// scheduler steps with (learned-variance channels dropped).
  func denoise(_ sample: Tensor, timesteps: [Int], classLabels: Tensor?) throws -> Tensor
  /// config.json + diffusion_pytorch_model.safetensors into `directory`.
  func save(to directory: String) throws
  /// A new model with the same config (weights to be loaded), e.g. to hold the EMA weights.
  func sameArchitecture() throws -> Self
}

extension UNet2DModel: DiffusionDenoiser {
  public var componentName: String { "unet" }
  public var diffusersClassName: String { UNet2DConfig.className }
  public var inChannels: Int { config.inChannels }
  public var classEmbeddingRows: Int? { config.numClassEmbeds }
  public var sampleSize: [Int]? { config.sampleSize }
  public func denoise(_ sample: Tensor, timesteps: [Int], classLabels: Tensor?) throws -> Tensor {
    try self(sample, timesteps: timesteps, classLabels: classLabels)
  }
  public func sameArchitecture() throws -> UNet2DModel { try UNet2DModel(config, generator: Generator(seed: 0)) }
}
