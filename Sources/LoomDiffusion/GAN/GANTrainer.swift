import LoomCore
import LoomNN
import LoomOptim

/// Optimisation recipe of a GAN run; `recipe(for:)` gives each variant's published one.
public struct GANRecipe: Sendable {
  /// Critic (discriminator) steps per generator step.
  public var nCritic = 1
  /// WGAN weight clipping: critic parameters clamped to ±clip after each critic step.
  public var clip: Double?
  /// WGAN-GP's λ.
  public var gpLambda: Double?
  public var learningRate = 2e-4
  public var betas = (0.5, 0.999)
  /// RMSprop instead of Adam (WGAN).
  public var rmsprop = false

  public init() {}

  /// DCGAN / GAN: Adam 2e-4, β (0.5, 0.999). WGAN: RMSprop 5e-5, clip 0.01, n_critic 5.
  /// WGAN-GP: Adam 1e-4, β (0, 0.9), λ 10, n_critic 5.
  public static func recipe(for variant: GANVariant) -> GANRecipe {
    var r = GANRecipe()
    switch variant {
    case .gan, .dcgan: break
    case .wgan:
      (r.nCritic, r.clip, r.learningRate, r.rmsprop) = (5, 0.01, 5e-5, true)
    case .wganGP:
      (r.nCritic, r.gpLambda, r.learningRate, r.betas) = (5, 10, 1e-4, (0, 0.9))
    }
    return r
  }
}

/// The two-optimizer GAN loop, one real batch per call: a critic step every call and a
/// generator step every `nCritic`-th call. A dedicated loop rather than a `Trainer`
/// subclass: two models, two optimizers, alternating updates and post-step clipping fit
/// none of the Trainer's single-loss hooks, and this stays ~100 lines.
public final class GANTrainer {
  public let generator: GANGenerator
  public let discriminator: GANDiscriminator
  public let recipe: GANRecipe
  public let optimizerG: any Optimizer
  public let optimizerD: any Optimizer
  let rng: Generator
  var calls = 0

  public init(generator: GANGenerator, discriminator: GANDiscriminator, recipe: GANRecipe, seed: UInt64) {
    (self.generator, self.discriminator, self.recipe) = (generator, discriminator, recipe)
    rng = Generator(seed: seed)
    func optimizer(_ m: Module) -> any Optimizer {
      let params = m.parameters().filter(\.requiresGrad)
      return recipe.rmsprop
        ? RMSprop(params, lr: recipe.learningRate) : Adam(params, lr: recipe.learningRate, betas: recipe.betas)
    }
    optimizerG = optimizer(generator)
    optimizerD = optimizer(discriminator)
  }

  var variant: GANVariant { generator.config.variant }

  /// Fresh latents [n, Z].
  public func noise(_ n: Int) -> Tensor {
    Tensor.randn([n, generator.config.latentDim], generator: rng, device: generator.main.parameters()[0].device)
  }

  /// One critic step (and a generator step when due) on real images [N, C, H, W] in
  /// [−1, 1]. Returns loss_d, loss_g (on generator steps), d_real / d_fake (mean
  /// outputs) and, for WGANs, wasserstein_distance and gradient_norm (‖∇_x̂ D(x̂)‖ on interpolates).
  public func step(real: Tensor, labels: Tensor?) -> [String: Double] {
    generator.train()
    discriminator.train()
    let n = real.shape[0]
    let fake = noGrad { generator(noise(n), labels: labels) }
    let dReal = discriminator(real, labels: labels)
    let dFake = discriminator(fake, labels: labels)
    var logs: [String: Double] = [:]
    var lossD: Tensor
    if variant.isWasserstein {
      lossD = GANLoss.critic(real: dReal, fake: dFake)
      logs["wasserstein_distance"] = -lossD.item()
      let critic = { (x: Tensor) in self.discriminator(x, labels: labels) }
      let gp = GANLoss.gradientPenalty(
        critic: critic, real: real, fake: fake, lambda: recipe.gpLambda ?? 0,
        createGraph: recipe.gpLambda != nil, generator: rng)
      logs["gradient_norm"] = gp.gradientNorm
      if recipe.gpLambda != nil {
        lossD = lossD + gp.penalty
        logs["gradient_penalty"] = gp.penalty.item()
      }
    } else {
      lossD = GANLoss.discriminator(real: dReal, fake: dFake)
    }
    optimizerD.zeroGrad()
    lossD.backward()
    optimizerD.step()
    if let c = recipe.clip {
      noGrad { for p in discriminator.parameters() { p.copyIn(p.clamp(min: -c, max: c)) } }
    }
    logs["loss_d"] = lossD.item()
    logs["d_real"] = noGrad { dReal.mean().item() }
    logs["d_fake"] = noGrad { dFake.mean().item() }

    calls += 1
    if calls % recipe.nCritic == 0 {
      let out = discriminator(generator(noise(n), labels: labels), labels: labels)
      let lossG = variant.isWasserstein ? GANLoss.wassersteinGenerator(fake: out) : GANLoss.generator(fake: out)
      optimizerG.zeroGrad()
      lossG.backward()
      optimizerG.step()
      logs["loss_g"] = lossG.item()
    }
    return logs
  }
}
