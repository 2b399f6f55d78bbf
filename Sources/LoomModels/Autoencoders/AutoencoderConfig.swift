import LoomCore
import LoomNN

/// A fully connected (denoising) autoencoder: layer sizes from the input down to the
/// code (the decoder mirrors them) and the corruption of a denoising autoencoder.
public struct AutoencoderConfig: Codable, Equatable, Sendable {
  /// The seeds' model: 784-128-64-36-18-9.
  public var layerSizes = [784, 128, 64, 36, 18, 9]
  /// Noise of a denoising autoencoder (none for a plain one).
  public var noise = ImageNoise.none
  /// Corrupt inside the model in training mode (otherwise the dataset does).
  public var noiseInModel = false

  public init(
    layerSizes: [Int] = [784, 128, 64, 36, 18, 9], noise: ImageNoise = .none,
    noiseInModel: Bool = false
  ) {
    self.layerSizes = layerSizes
    self.noise = noise
    self.noiseInModel = noiseInModel
  }

  enum CodingKeys: String, CodingKey {
    case layerSizes = "layer_sizes"
    case noise
    case noiseInModel = "noise_in_model"
  }

  public func validate() throws {
    guard layerSizes.count >= 2, layerSizes.allSatisfy({ $0 > 0 }) else {
      throw LoomError(
        "autoencoder layer_sizes must list at least 2 positive sizes, got \(layerSizes)")
    }
    try noise.validate()
  }
}

/// A variational autoencoder (MLP or convolutional).
public struct VAEConfig: Codable, Equatable, Sendable {
  /// Per-pixel likelihood: Bernoulli (binary cross-entropy) or Gaussian (squared error).
  public enum Reconstruction: String, Codable, Sendable { case bce, mse }

  public var inputSize = 784
  public var hiddenSize = 400
  public var latentSize = 20
  /// Weight of the KL term (β-VAE; 1 gives the ELBO).
  public var beta: Double = 1
  public var reconstruction = Reconstruction.bce
  /// Image geometry and channels of the convolutional VAE.
  public var imageHeight = 28, imageWidth = 28
  public var channels = [32, 64]

  public init(
    latentSize: Int = 20, hiddenSize: Int = 400, beta: Double = 1,
    reconstruction: Reconstruction = .bce
  ) {
    self.latentSize = latentSize
    self.hiddenSize = hiddenSize
    self.beta = beta
    self.reconstruction = reconstruction
  }

  enum CodingKeys: String, CodingKey {
    case inputSize = "input_size"
    case hiddenSize = "hidden_size"
    case latentSize = "latent_size"
    case beta, reconstruction
    case imageHeight = "image_height"
    case imageWidth = "image_width"
    case channels
  }

  public func validate() throws {
    guard inputSize > 0, hiddenSize > 0, latentSize > 0 else {
      throw LoomError(
        "VAE sizes must be positive, got input \(inputSize), hidden \(hiddenSize), latent \(latentSize)"
      )
    }
    guard beta >= 0 else { throw LoomError("VAE beta must be >= 0, got \(beta)") }
  }
}

/// The autoencoders the CLI builds by name.
public enum AutoencoderKind: String, CaseIterable, Codable, Sendable {
  case ae, dae, vae
  case convVAE = "conv-vae"

  public init(name: String) throws {
    guard let k = AutoencoderKind(rawValue: name) else {
      throw LoomError(
        "unknown autoencoder '\(name)'; valid: \(Self.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    self = k
  }

  /// Builds the model ("dae" without noise gets masking noise of 0.25).
  public func make(
    autoencoder: AutoencoderConfig = AutoencoderConfig(), vae: VAEConfig = VAEConfig(),
    generator: Generator = .global
  ) throws -> any ImageAutoencoder {
    switch self {
    case .ae:
      try autoencoder.validate()
      return Autoencoder(autoencoder, generator: generator)
    case .dae:
      var c = autoencoder
      if c.noise == .none { c.noise = .masking(fraction: 0.25) }
      try c.validate()
      return Autoencoder(c, generator: generator)
    case .vae:
      try vae.validate()
      return VAE(vae, generator: generator)
    case .convVAE:
      try vae.validate()
      guard vae.imageHeight % 4 == 0, vae.imageWidth % 4 == 0, vae.channels.count == 2,
        vae.channels.allSatisfy({ $0 > 0 })
      else {
        throw LoomError(
          "conv-vae needs an image size divisible by 4 and two positive channel counts, got \(vae.imageHeight)×\(vae.imageWidth), \(vae.channels)"
        )
      }
      return ConvVAE(vae, generator: generator)
    }
  }
}
