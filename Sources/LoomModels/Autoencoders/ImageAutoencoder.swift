import LoomCore
import LoomNN

/// An autoencoder's training loss with its named parts (each a mean per example),
/// e.g. "recon_loss" and "kl_loss" for a VAE; the Trainer logs them beside the loss.
public struct AutoencoderLoss {
  public let total: Tensor
  public let parts: [String: Tensor]
  public init(total: Tensor, parts: [String: Tensor] = [:]) {
    self.total = total
    self.parts = parts
  }
}

/// What the CLI needs of every image autoencoder (AE, DAE, VAE, conv VAE).
public protocol ImageAutoencoder: Module {
  /// True when inputs are [N, 1, H, W] images, false for flattened [N, H·W] rows.
  var takesImages: Bool { get }
  /// Width of the latent code.
  var latentSize: Int { get }
  /// The training loss of `inputs` (possibly noisy) against the clean `target`.
  func loss(_ inputs: Tensor, target: Tensor) -> AutoencoderLoss
  /// A deterministic reconstruction (a VAE decodes its mean).
  func reconstruct(_ x: Tensor) -> Tensor
  /// Latent codes [N, latent] (a VAE's mean), e.g. for scatter plots.
  func encodeMean(_ x: Tensor) -> Tensor
}

extension ImageAutoencoder {
  /// Per-example anomaly score: the mean squared reconstruction error of each row [N].
  public func anomalyScores(_ x: Tensor) -> Tensor {
    noGrad {
      let e = (reconstruct(x) - x).square()
      return e.reshape([x.shape[0], -1]).mean(dim: 1)
    }
  }
}
