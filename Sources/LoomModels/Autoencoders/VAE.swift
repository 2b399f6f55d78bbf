import LoomCore
import LoomNN

/// The parts of a VAE's loss, each averaged per example: reconstruction (summed over
/// pixels), KL(q(z|x) ‖ N(0, I)) (summed over latent dims) and total = recon + β·KL
/// (the negative ELBO per example when β = 1).
public struct VAELoss {
  public let reconstruction: Tensor
  public let kl: Tensor
  public let total: Tensor

  public var autoencoderLoss: AutoencoderLoss {
    AutoencoderLoss(total: total, parts: ["recon_loss": reconstruction, "kl_loss": kl])
  }
}

/// Shared by the MLP and convolutional VAEs.
public enum VAEMath {
  /// z = mu + exp(0.5·logvar)·eps.
  public static func reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor {
    mu + (logvar * 0.5).exp() * eps
  }

  /// The loss of reconstructions `recon` (probabilities) of `target`, per example.
  public static func loss(
    recon: Tensor, target: Tensor, mu: Tensor, logvar: Tensor, beta: Double,
    reconstruction: VAEConfig.Reconstruction
  ) -> VAELoss {
    let n = Double(target.shape[0])
    let r: Tensor
    switch reconstruction {
    case .bce: r = Loss.bce(recon, target, reduction: .sum) / n
    case .mse: r = Loss.mse(recon, target, reduction: .sum) / n
    }
    // −½ Σ (1 + logvar − mu² − e^logvar), per example.
    let kl = (1 + logvar - mu.square() - logvar.exp()).sum() * (-0.5 / n)
    return VAELoss(reconstruction: r, kl: kl, total: beta == 1 ? r + kl : r + kl * beta)
  }
}

/// A VAE: q(z|x) = N(mu, e^logvar) from `encode`, p(x|z) from `decode`; the rest
/// (sampling, loss, prior samples, interpolation) is shared.
public protocol VariationalAutoencoder: ImageAutoencoder {
  var config: VAEConfig { get }
  /// Draws eps for the reparameterisation and prior samples.
  var generator: Generator { get }
  func encode(_ x: Tensor) -> (mu: Tensor, logvar: Tensor)
  func decode(_ z: Tensor) -> Tensor
}

extension VariationalAutoencoder {
  public var latentSize: Int { config.latentSize }

  /// Reconstruction, mu and logvar; eps ~ N(0, I) from `generator` unless given.
  public func callAsFunction(_ x: Tensor, eps: Tensor? = nil) -> (
    recon: Tensor, mu: Tensor, logvar: Tensor
  ) {
    let (mu, logvar) = encode(x)
    let e = eps ?? Tensor.randn(mu.shape, generator: generator)
    return (decode(VAEMath.reparameterize(mu: mu, logvar: logvar, eps: e)), mu, logvar)
  }

  /// The loss parts against the clean `target` (any shape with the same count).
  public func vaeLoss(_ inputs: Tensor, target: Tensor, eps: Tensor? = nil) -> VAELoss {
    let (recon, mu, logvar) = self(inputs, eps: eps)
    return VAEMath.loss(
      recon: recon, target: target.reshape(recon.shape), mu: mu, logvar: logvar, beta: config.beta,
      reconstruction: config.reconstruction)
  }

  public func loss(_ inputs: Tensor, target: Tensor) -> AutoencoderLoss {
    vaeLoss(inputs, target: target).autoencoderLoss
  }
  public func reconstruct(_ x: Tensor) -> Tensor { decode(encode(x).mu).reshape(x.shape) }
  public func encodeMean(_ x: Tensor) -> Tensor { encode(x).mu }

  /// `count` images decoded from the prior N(0, I).
  public func sample(count: Int, generator: Generator? = nil) -> Tensor {
    noGrad {
      decode(Tensor.randn([count, config.latentSize], generator: generator ?? self.generator))
    }
  }

  /// Decodes `steps` points evenly spaced (ends included) between the means of two images.
  public func interpolate(_ a: Tensor, _ b: Tensor, steps: Int) -> Tensor {
    noGrad {
      let ends = encodeMean(Tensor.stack([a.reshape([-1]), b.reshape([-1])]))
      return decode(
        VAEMath.interpolate(
          ends.narrow(dim: 0, start: 0, length: 1), ends.narrow(dim: 0, start: 1, length: 1),
          steps: steps))
    }
  }
}

/// PyTorch's classic VAE example (fc1 784→400, fc21/fc22 400→latent for mu and
/// logvar, fc3 latent→400, fc4 400→784 with a sigmoid), latent size configurable.
public final class VAE: Module, VariationalAutoencoder {
  public let config: VAEConfig
  @Child public var fc1: Linear
  @Child public var fc21: Linear
  @Child public var fc22: Linear
  @Child public var fc3: Linear
  @Child public var fc4: Linear
  public let generator: Generator

  public init(_ config: VAEConfig = VAEConfig(), generator: Generator = .global) {
    self.config = config
    self.generator = generator
    let d = config.inputSize
    let h = config.hiddenSize
    let z = config.latentSize
    fc1 = Linear(d, h, generator: generator)
    fc21 = Linear(h, z, generator: generator)
    fc22 = Linear(h, z, generator: generator)
    fc3 = Linear(z, h, generator: generator)
    fc4 = Linear(h, d, generator: generator)
    super.init()
  }

  public var takesImages: Bool { false }

  /// (mu, logvar) of q(z|x) for x [N, 784] (images are flattened).
  public func encode(_ x: Tensor) -> (mu: Tensor, logvar: Tensor) {
    let h = fc1(x.reshape([x.shape[0], -1])).relu()
    return (fc21(h), fc22(h))
  }

  public func decode(_ z: Tensor) -> Tensor { fc4(fc3(z).relu()).sigmoid() }
}

extension VAEMath {
  /// Rows (1 − t)·a + t·b for t = 0, 1/(steps−1), …, 1; a and b are [1, latent].
  public static func interpolate(_ a: Tensor, _ b: Tensor, steps: Int) -> Tensor {
    precondition(steps >= 2, "interpolate: needs at least 2 steps, got \(steps)")
    let t = Tensor((0..<steps).map { Float($0) / Float(steps - 1) }, shape: [steps, 1])
    return a * (1 - t) + b * t
  }
}
