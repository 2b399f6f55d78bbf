import LoomCore
import LoomNN

/// LayerNorm over each example's [C, H, W] (PyTorch `nn.LayerNorm([C, H, W])`: weight and
/// bias of that shape), the WGAN-GP critic's per-example normalisation.
public final class LayerNorm2d: Module {
  @Parameter public var weight: Tensor
  @Parameter public var bias: Tensor
  public let eps: Double

  public init(_ shape: [Int], eps: Double = 1e-5) {
    weight = Init.ones(shape)
    bias = Init.zeros(shape)
    self.eps = eps
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor {
    let d = weight.count
    let y = layerNorm(x.reshape([x.shape[0], d]), weight: weight.reshape([d]), bias: bias.reshape([d]), eps: eps)
    return y.reshape(x.shape)
  }

  override public var extraDescription: String {
    "(\(weight.shape.map(String.init).joined(separator: ", "))), eps=\(eps), elementwise_affine=True"
  }
}

/// DCGAN's initialisation (the paper and PyTorch's tutorial `weights_init`): conv and
/// transposed-conv weights N(0, 0.02), BatchNorm weights N(1, 0.02) and biases 0.
func dcganInit(_ layers: [Module], generator: Generator) {
  noGrad {
    for m in layers {
      if let c = m as? Conv2d {
        c.weight.copyIn(Init.normal(c.weight.shape, std: 0.02, generator: generator))
      } else if let c = m as? ConvTranspose2d {
        c.weight.copyIn(Init.normal(c.weight.shape, std: 0.02, generator: generator))
      } else if let b = m as? BatchNorm, let w = b.weight, let bias = b.bias {
        w.copyIn(Init.normal(w.shape, mean: 1, std: 0.02, generator: generator))
        bias.copyIn(Tensor.zeros(like: bias))
      }
    }
  }
}

/// G(z[, y]) → images [N, C, 28, 28] in [−1, 1] (Tanh). Keys: `main.*` (PyTorch's
/// `self.main = nn.Sequential(…)`) and `label_emb.weight` when class-conditional.
public final class GANGenerator: Module {
  public let config: GANConfig
  @Child public var main: Sequential
  @Child public var labelEmb: Embedding?

  override public var keyOverrides: [String: String] { ["labelEmb": "label_emb"] }

  public init(_ config: GANConfig, generator: Generator = .global) {
    self.config = config
    let c = config
    let extra = c.numClasses ?? 0
    let zIn = c.latentDim + extra
    if c.variant.isConvolutional {
      let f = c.generatorFeatures
      let layers: [Module] = [
        ConvTranspose2d(zIn, f * 4, kernelSize: 7, stride: 1, padding: 0, bias: false, generator: generator),
        BatchNorm2d(f * 4), ReLU(),
        ConvTranspose2d(f * 4, f * 2, kernelSize: 4, stride: 2, padding: 1, bias: false, generator: generator),
        BatchNorm2d(f * 2), ReLU(),
        ConvTranspose2d(f * 2, c.channels, kernelSize: 4, stride: 2, padding: 1, bias: false, generator: generator),
        Tanh(),
      ]
      dcganInit(layers, generator: generator)
      main = Sequential(layers)
    } else {
      let h = c.hiddenSize
      let pixels = c.channels * c.imageSize * c.imageSize
      main = Sequential(
        Linear(zIn, h, generator: generator), LeakyReLU(negativeSlope: 0.2),
        Linear(h, h * 2, generator: generator), LeakyReLU(negativeSlope: 0.2),
        Linear(h * 2, h * 4, generator: generator), LeakyReLU(negativeSlope: 0.2),
        Linear(h * 4, pixels, generator: generator), Tanh())
    }
    labelEmb = c.numClasses.map { Embedding($0, $0, generator: generator) }
    super.init()
  }

  /// z [N, Z] (or [N, Z, 1, 1]); labels int64 [N] when class-conditional.
  public func callAsFunction(_ z: Tensor, labels: Tensor?) -> Tensor {
    let n = z.shape[0]
    var input = z.reshape([n, config.latentDim])
    if let labelEmb {
      precondition(labels != nil, "GANGenerator: a class-conditional generator needs labels")
      input = Tensor.cat([input, labelEmb(labels!)], dim: 1)
    }
    let s = config.imageSize
    if config.variant.isConvolutional {
      return main(input.reshape([n, input.shape[1], 1, 1]))
    }
    return main(input).reshape([n, config.channels, s, s])
  }

  override public func forward(_ z: Tensor) -> Tensor { self(z, labels: nil) }
}

/// D(x[, y]) → one logit / critic value per image [N]. Convolutional: Conv(4, 2, 1) 28→14 ·
/// LeakyReLU 0.2 · Conv(4, 2, 1) 14→7 · norm · LeakyReLU 0.2 · Conv(7) → 1×1 (no norm on
/// the first layer, no sigmoid: losses take logits). Class-conditional: the label's
/// embedding as an extra input channel (conv) or extra features (MLP).
public final class GANDiscriminator: Module {
  public let config: GANConfig
  @Child public var main: Sequential
  @Child public var labelEmb: Embedding?

  override public var keyOverrides: [String: String] { ["labelEmb": "label_emb"] }

  public init(_ config: GANConfig, generator: Generator = .global) {
    self.config = config
    let c = config
    let s = c.imageSize
    if c.variant.isConvolutional {
      let f = c.discriminatorFeatures
      let inChannels = c.channels + (c.numClasses == nil ? 0 : 1)
      var layers: [Module] = [
        Conv2d(inChannels, f, kernelSize: 4, stride: 2, padding: 1, bias: false, generator: generator),
        LeakyReLU(negativeSlope: 0.2),
        Conv2d(f, f * 2, kernelSize: 4, stride: 2, padding: 1, bias: false, generator: generator),
      ]
      switch c.criticNorm {
      case .batchNorm: layers.append(BatchNorm2d(f * 2))
      case .layerNorm: layers.append(LayerNorm2d([f * 2, s / 4, s / 4]))
      case .none: break
      }
      layers += [
        LeakyReLU(negativeSlope: 0.2),
        Conv2d(f * 2, 1, kernelSize: s / 4, stride: 1, padding: 0, bias: false, generator: generator),
      ]
      dcganInit(layers, generator: generator)
      main = Sequential(layers)
      labelEmb = c.numClasses.map { Embedding($0, s * s, generator: generator) }
    } else {
      let h = c.hiddenSize
      let inputs = c.channels * s * s + (c.numClasses ?? 0)
      main = Sequential(
        Linear(inputs, h * 2, generator: generator), LeakyReLU(negativeSlope: 0.2),
        Linear(h * 2, h, generator: generator), LeakyReLU(negativeSlope: 0.2),
        Linear(h, 1, generator: generator))
      labelEmb = c.numClasses.map { Embedding($0, $0, generator: generator) }
    }
    super.init()
  }

  /// x [N, C, H, W]; labels int64 [N] when class-conditional. Returns [N].
  public func callAsFunction(_ x: Tensor, labels: Tensor?) -> Tensor {
    let n = x.shape[0]
    let s = config.imageSize
    var input = config.variant.isConvolutional ? x : x.reshape([n, -1])
    if let labelEmb {
      precondition(labels != nil, "GANDiscriminator: a class-conditional discriminator needs labels")
      let e = labelEmb(labels!)
      input = config.variant.isConvolutional
        ? Tensor.cat([input, e.reshape([n, 1, s, s])], dim: 1) : Tensor.cat([input, e], dim: 1)
    }
    return main(input).reshape([n])
  }

  override public func forward(_ x: Tensor) -> Tensor { self(x, labels: nil) }
}
