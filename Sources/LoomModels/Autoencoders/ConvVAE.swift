import LoomCore
import LoomNN

/// A small convolutional VAE for [N, 1, H, W] images (H, W divisible by 4):
/// encoder Conv2d(1→c₀, 4, stride 2, pad 1)·ReLU·Conv2d(c₀→c₁, 4, 2, 1)·ReLU·Flatten,
/// `fc_mu` / `fc_logvar` to the latent; decoder Linear(latent → c₁·H/4·W/4)·ReLU·
/// Unflatten·ConvTranspose2d(c₁→c₀, 4, 2, 1)·ReLU·ConvTranspose2d(c₀→1, 4, 2, 1)·Sigmoid.
public final class ConvVAE: Module, VariationalAutoencoder {
  public let config: VAEConfig
  @Child public var encoder: Sequential
  @Child public var fcMu: Linear
  @Child public var fcLogvar: Linear
  @Child public var decoder: Sequential
  public let generator: Generator

  override public var keyOverrides: [String: String] { ["fcMu": "fc_mu", "fcLogvar": "fc_logvar"] }

  public init(_ config: VAEConfig = VAEConfig(), generator: Generator = .global) {
    let (h, w) = (config.imageHeight, config.imageWidth)
    precondition(h % 4 == 0 && w % 4 == 0, "ConvVAE: image size \(h)×\(w) must be divisible by 4")
    precondition(
      config.channels.count == 2, "ConvVAE: needs two channel counts, got \(config.channels)")
    self.config = config
    self.generator = generator
    let (c0, c1) = (config.channels[0], config.channels[1])
    let flat = c1 * (h / 4) * (w / 4)
    encoder = Sequential(
      Conv2d(1, c0, kernelSize: 4, stride: 2, padding: 1, generator: generator), ReLU(),
      Conv2d(c0, c1, kernelSize: 4, stride: 2, padding: 1, generator: generator), ReLU(), Flatten())
    fcMu = Linear(flat, config.latentSize, generator: generator)
    fcLogvar = Linear(flat, config.latentSize, generator: generator)
    decoder = Sequential(
      Linear(config.latentSize, flat, generator: generator), ReLU(),
      Unflatten(dim: 1, sizes: [c1, h / 4, w / 4]),
      ConvTranspose2d(c1, c0, kernelSize: 4, stride: 2, padding: 1, generator: generator), ReLU(),
      ConvTranspose2d(c0, 1, kernelSize: 4, stride: 2, padding: 1, generator: generator), Sigmoid())
    super.init()
  }

  public var takesImages: Bool { true }

  /// Accepts [N, 1, H, W] or flattened [N, H·W].
  func asImages(_ x: Tensor) -> Tensor {
    x.reshape([x.shape[0], 1, config.imageHeight, config.imageWidth])
  }

  public func encode(_ x: Tensor) -> (mu: Tensor, logvar: Tensor) {
    let h = encoder(asImages(x))
    return (fcMu(h), fcLogvar(h))
  }

  public func decode(_ z: Tensor) -> Tensor { decoder(z) }
}
