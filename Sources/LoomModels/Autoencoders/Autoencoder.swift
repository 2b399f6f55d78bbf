import LoomCore
import LoomNN

/// A fully connected autoencoder: `encoder` = Linear/ReLU down the layer sizes (no
/// activation on the code), `decoder` = Linear/ReLU back up with a Sigmoid output.
/// The default sizes are the seeds' model (784-128-64-36-18-9, 224,601 parameters,
/// PyTorch names `encoder.0.weight` … `decoder.8.bias`). With noise it is a denoising
/// autoencoder: the dataset corrupts inputs, or the model itself in training mode
/// when `config.noiseInModel`.
public final class Autoencoder: Module, ImageAutoencoder {
  public let config: AutoencoderConfig
  @Child public var encoder: Sequential
  @Child public var decoder: Sequential
  @Child var corrupt: NoiseLayer?

  public init(_ config: AutoencoderConfig = AutoencoderConfig(), generator: Generator = .global) {
    precondition(
      config.layerSizes.count >= 2,
      "Autoencoder: needs at least an input and a code size, got \(config.layerSizes)")
    self.config = config
    let sizes = config.layerSizes
    var enc: [Module] = []
    for i in 0..<(sizes.count - 1) {
      enc.append(Linear(sizes[i], sizes[i + 1], generator: generator))
      if i < sizes.count - 2 { enc.append(ReLU()) }
    }
    let back = Array(sizes.reversed())
    var dec: [Module] = []
    for i in 0..<(back.count - 1) {
      dec.append(Linear(back[i], back[i + 1], generator: generator))
      dec.append(i < back.count - 2 ? ReLU() : Sigmoid())
    }
    encoder = Sequential(enc)
    decoder = Sequential(dec)
    corrupt =
      config.noiseInModel && config.noise != .none
      ? NoiseLayer(config.noise, generator: generator) : nil
    super.init()
  }

  public var takesImages: Bool { false }
  public var latentSize: Int { config.layerSizes.last! }

  /// Encodes and decodes (corrupting first in training mode when the model noises).
  override public func forward(_ x: Tensor) -> Tensor {
    decoder(encoder(corrupt?(x) ?? x))
  }

  public func encode(_ x: Tensor) -> Tensor { encoder(x) }
  public func decode(_ z: Tensor) -> Tensor { decoder(z) }

  /// Mean squared error over all pixels (nn.MSELoss()), as the seeds train.
  public func loss(_ inputs: Tensor, target: Tensor) -> AutoencoderLoss {
    AutoencoderLoss(total: Loss.mse(self(inputs), target))
  }

  public func reconstruct(_ x: Tensor) -> Tensor { decoder(encoder(x)) }
  public func encodeMean(_ x: Tensor) -> Tensor { encoder(x) }
}
