import LoomCore
import LoomNN

/// A fully connected (denoising) autoencoder: layer sizes from the input down to the
/// code (the decoder mirrors them) and the corruption of a denoising autoencoder.
public struct AutoencoderConfig: PretrainedConfig, Equatable {
  public static let modelType = "ae"

  /// The seeds' model: 784-128-64-36-18-9.
  public var layerSizes = [784, 128, 64, 36, 18, 9]
  /// Noise of a denoising autoencoder (none for a plain one).
  public var noise = ImageNoise.none
  /// Corrupt inside the model in training mode (otherwise the dataset does).
  public var noiseInModel = false

  public static let fields: [ConfigField<AutoencoderConfig>] = [
    .init("layer_sizes", \.layerSizes), .init("noise", \.noise), .init("noise_in_model", \.noiseInModel),
  ]

  public init() {}

  public init(
    layerSizes: [Int] = AutoencoderConfig().layerSizes, noise: ImageNoise = .none, noiseInModel: Bool = false
  ) {
    self.layerSizes = layerSizes
    self.noise = noise
    self.noiseInModel = noiseInModel
  }

  public init(from decoder: Decoder) throws { self = try Self.decodeFields(from: decoder) }
  public func encode(to encoder: Encoder) throws { try encodeFields(to: encoder) }

  public func validate() throws {
    guard layerSizes.count >= 2, layerSizes.allSatisfy({ $0 > 0 }) else {
      throw LoomError(
        "autoencoder layer_sizes must list at least 2 positive sizes, got \(layerSizes)")
    }
    try Self.checkSizes(layerSizes.map { ("layer_sizes", $0, 1 << 24) })
    try Self.checkSizes([("the number of layer_sizes", layerSizes.count, 1 << 10)])
    try Self.checkParameterCount(
      zip(layerSizes, layerSizes.dropFirst()).map { [2, $0, $1] }, fields: "layer_sizes \(layerSizes.prefix(16))")
    try noise.validate()
  }
}

/// A variational autoencoder (MLP or convolutional).
public struct VAEConfig: PretrainedConfig, Equatable {
  public static let modelType = "vae"

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

  public static let fields: [ConfigField<VAEConfig>] = [
    .init("input_size", \.inputSize), .init("hidden_size", \.hiddenSize), .init("latent_size", \.latentSize),
    .init("beta", \.beta), .init("reconstruction", \.reconstruction), .init("image_height", \.imageHeight),
    .init("image_width", \.imageWidth), .init("channels", \.channels),
  ]

  public init() {}

  public init(
    latentSize: Int = VAEConfig().latentSize, hiddenSize: Int = VAEConfig().hiddenSize, beta: Double = 1,
    reconstruction: Reconstruction = .bce
  ) {
    self.latentSize = latentSize
    self.hiddenSize = hiddenSize
    self.beta = beta
    self.reconstruction = reconstruction
  }

  public init(from decoder: Decoder) throws { self = try Self.decodeFields(from: decoder) }
  public func encode(to encoder: Encoder) throws { try encodeFields(to: encoder) }

  public func validate() throws {
    guard inputSize > 0, hiddenSize > 0, latentSize > 0 else {
      throw LoomError(
        "VAE sizes must be positive, got input \(inputSize), hidden \(hiddenSize), latent \(latentSize)"
      )
    }
    guard beta >= 0 else { throw LoomError("VAE beta must be >= 0, got \(beta)") }
    try Self.checkSizes([
      ("input_size", inputSize, 1 << 24), ("hidden_size", hiddenSize, 1 << 20), ("latent_size", latentSize, 1 << 20),
      ("image_height", imageHeight, 1 << 14), ("image_width", imageWidth, 1 << 14),
    ])
    try Self.checkSizes(channels.map { ("channels", $0, 1 << 16) } + [("the number of channels", channels.count, 16)])
    try Self.checkParameterCount(
      parameterTerms,
      fields: "input_size \(inputSize), hidden_size \(hiddenSize), latent_size \(latentSize), image \(imageHeight)×\(imageWidth), channels \(channels)")
  }
}

extension VAEConfig {
  /// MLP and convolutional VAE weights as products of fields (an upper bound for either).
  var parameterTerms: [[Int]] { mlpTerms + convTerms }
  var mlpTerms: [[Int]] { [[2, inputSize, hiddenSize], [3, hiddenSize, latentSize]] }
  var convTerms: [[Int]] { [[3, imageHeight / 4, imageWidth / 4, channels.last ?? 1, latentSize]] }
  /// The smaller of the two models' main weights: the config type does not say which is
  /// built, and an estimate must not exceed the real count.
  public var parameterEstimate: Int? { min(Self.count(mlpTerms), Self.count(convTerms)) }
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
