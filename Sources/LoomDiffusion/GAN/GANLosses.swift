import LoomCore
import LoomNN

/// The GAN objectives, on discriminator logits / critic values [N].
public enum GANLoss {
  /// BCE-with-logits discriminator loss: real → 1, fake → 0 (the sum of the two means,
  /// as PyTorch's DCGAN tutorial adds errD_real and errD_fake).
  public static func discriminator(real: Tensor, fake: Tensor) -> Tensor {
    Loss.bceWithLogits(real, Tensor.ones(like: real)) + Loss.bceWithLogits(fake, Tensor.zeros(like: fake))
  }

  /// Non-saturating generator loss: BCE of D(G(z)) against "real", −log σ(D(G(z))).
  public static func generator(fake: Tensor) -> Tensor {
    Loss.bceWithLogits(fake, Tensor.ones(like: fake))
  }

  /// WGAN critic loss mean(D(fake)) − mean(D(real)) (minimised; its negative estimates
  /// the Wasserstein-1 distance).
  public static func critic(real: Tensor, fake: Tensor) -> Tensor { fake.mean() - real.mean() }

  /// WGAN generator loss −mean(D(G(z))).
  public static func wassersteinGenerator(fake: Tensor) -> Tensor { -fake.mean() }

  /// WGAN-GP's penalty λ·mean((‖∇_x̂ D(x̂)‖₂ − 1)²) on x̂ = ε·real + (1 − ε)·fake, ε ~ U[0, 1]
  /// per example. The gradient is taken with `createGraph`, so the penalty differentiates
  /// into the critic's parameters (a second-order gradient). `epsilon` [N] may be given
  /// (parity tests); `createGraph: false` only measures the norm. Returns the penalty and
  /// the mean gradient norm.
  public static func gradientPenalty(
    critic: (Tensor) -> Tensor, real: Tensor, fake: Tensor, lambda: Double, epsilon: Tensor? = nil,
    createGraph: Bool = true, generator: Generator = .global
  ) -> (penalty: Tensor, gradientNorm: Double) {
    let n = real.shape[0]
    let view = [n] + [Int](repeating: 1, count: real.rank - 1)
    let eps = (epsilon ?? Tensor.rand([n], generator: generator, device: real.device)).reshape(view)
    let interpolates = (eps * real.detach() + (1 - eps) * fake.detach()).detach().requiringGrad()
    let out = critic(interpolates)
    let grad = gradients(of: [out.sum()], wrt: [interpolates], createGraph: createGraph)[0]!
    let norm = grad.reshape([n, -1]).square().sum(dim: 1).sqrt()
    let penalty = (norm - 1).square().mean() * lambda
    return (penalty, noGrad { norm.mean().item() })
  }
}
