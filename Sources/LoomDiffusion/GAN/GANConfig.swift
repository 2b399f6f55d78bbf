import Foundation
import LoomCore
import LoomIO

/// The four GAN recipes of `loom train gan`.
public enum GANVariant: String, Codable, CaseIterable, Sendable {
  /// MLP generator and discriminator, BCE-with-logits (non-saturating generator loss).
  case gan
  /// Transposed-conv generator, strided-conv discriminator with BatchNorm (Radford et al.).
  case dcgan
  /// DCGAN shapes, a critic without sigmoid, weight clipping, RMSprop (Arjovsky et al.).
  case wgan
  /// DCGAN shapes, a critic with LayerNorm instead of BatchNorm and a gradient penalty (Gulrajani et al.).
  case wganGP = "wgan-gp"

  public var isWasserstein: Bool { self == .wgan || self == .wganGP }
  public var isConvolutional: Bool { self != .gan }
}

/// Normalisation inside the convolutional discriminator / critic.
public enum GANCriticNorm: String, Codable, Sendable {
  case batchNorm = "batch_norm"
  /// LayerNorm over [C, H, W] per example (the gradient penalty is per example, so no BatchNorm).
  case layerNorm = "layer_norm"
  case none
}

/// Shapes of a GAN's two networks (config.json of both subfolders, snake_case keys).
/// The convolutional generator maps z [N, Z, 1, 1] straight to 28×28: a 7×7 kernel to 7×7,
/// then two stride-2 transposed convolutions to 14×14 and 28×28 (no cropping).
public struct GANConfig: Codable, Equatable, Sendable {
  public var variant: GANVariant = .dcgan
  public var latentDim = 100
  public var imageSize = 28
  public var channels = 1
  /// Feature maps of the generator's last hidden layer (DCGAN's ngf).
  public var generatorFeatures = 64
  /// Feature maps of the discriminator's first layer (DCGAN's ndf).
  public var discriminatorFeatures = 64
  /// Hidden width of the MLP GAN's layers (generator 256·2^i, discriminator the reverse).
  public var hiddenSize = 256
  /// Class conditioning: a label embedding concatenated to z and to the discriminator's input.
  public var numClasses: Int?
  public var criticNorm: GANCriticNorm = .batchNorm

  public init(
    variant: GANVariant = .dcgan, latentDim: Int = 100, generatorFeatures: Int = 64,
    discriminatorFeatures: Int = 64, hiddenSize: Int = 256, numClasses: Int? = nil
  ) {
    self.variant = variant
    self.latentDim = latentDim
    self.generatorFeatures = generatorFeatures
    self.discriminatorFeatures = discriminatorFeatures
    self.hiddenSize = hiddenSize
    self.numClasses = numClasses
    criticNorm = variant == .wganGP ? .layerNorm : .batchNorm
  }

  enum CodingKeys: String, CodingKey {
    case variant, channels
    case latentDim = "latent_dim"
    case imageSize = "image_size"
    case generatorFeatures = "generator_features"
    case discriminatorFeatures = "discriminator_features"
    case hiddenSize = "hidden_size"
    case numClasses = "num_classes"
    case criticNorm = "critic_norm"
  }

  public func validate() throws {
    guard imageSize == 28 else { throw LoomError("GAN: image_size must be 28 (Fashion-MNIST / MNIST), got \(imageSize)") }
    for (name, v) in [
      ("latent_dim", latentDim), ("channels", channels), ("generator_features", generatorFeatures),
      ("discriminator_features", discriminatorFeatures), ("hidden_size", hiddenSize),
    ] where !(1...(1 << 16)).contains(v) {
      throw LoomError("GAN: \(name) must be in 1...65536, got \(v)")
    }
    if let n = numClasses, !(2...100_000).contains(n) {
      throw LoomError("GAN: num_classes must be in 2...100000, got \(n)")
    }
    if variant == .wganGP && criticNorm == .batchNorm {
      throw LoomError("GAN: wgan-gp's critic cannot use batch_norm (the gradient penalty is per example); use layer_norm or none")
    }
  }
}

extension GANConfig {
  /// The integer sizes config.json gives, for `WeightsSizeCheck`.
  public var sizes: [(key: String, value: Int)] {
    [
      ("latent_dim", latentDim), ("image_size", imageSize), ("channels", channels),
      ("generator_features", generatorFeatures), ("discriminator_features", discriminatorFeatures),
      ("hidden_size", hiddenSize), ("num_classes", numClasses ?? 0),
    ]
  }

  /// The generator's weights (biases and norms aside), as `GANGenerator` builds them.
  public var generatorParameterEstimate: Int {
    let z = latentDim + (numClasses ?? 0)
    let f = generatorFeatures
    let h = hiddenSize
    let label = [numClasses ?? 0, numClasses ?? 0]
    if variant.isConvolutional {
      return WeightsSizeCheck.parameterCount([[z, 4 * f, 49], [4 * f, 2 * f, 16], [2 * f, channels, 16], label])
    }
    return WeightsSizeCheck.parameterCount([[z, h], [2, h, h], [8, h, h], [4, h, channels, imageSize, imageSize], label])
  }
}
