import LoomCore

/// y = x·Wᵀ + b, weight [out, in]; PyTorch's default initialisation.
public final class Linear: Module, Layer {
  public let weight: Tensor
  public let bias: Tensor?

  public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator = .global) {
    weight = Init.kaimingUniform([outFeatures, inFeatures], a: 5.0.squareRoot(), generator: generator)
    let bound = 1 / Double(Swift.max(inFeatures, 1)).squareRoot()
    self.bias = bias ? Init.uniform([outFeatures], bound: bound, generator: generator) : nil
    super.init()
  }

  public func forward(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

/// A lookup table [num, dim], initialised N(0, 1) like PyTorch.
public final class Embedding: Module, Layer {
  public let weight: Tensor

  public init(_ count: Int, _ dimension: Int, generator: Generator = .global) {
    weight = Init.normal([count, dimension], std: 1, generator: generator)
    super.init()
  }

  public func forward(_ ids: Tensor) -> Tensor { Tensor.embedding(ids, weight: weight) }
}

/// Layer normalisation over the last dimension.
public final class LayerNorm: Module, Layer {
  public let weight: Tensor?
  public let bias: Tensor?
  public let eps: Double

  public init(_ dimension: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
    weight = elementwiseAffine ? Init.ones([dimension]) : nil
    self.bias = elementwiseAffine && bias ? Init.zeros([dimension]) : nil
    self.eps = eps
    super.init()
  }

  public func forward(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// RMS normalisation over the last dimension.
public final class RMSNorm: Module, Layer {
  public let weight: Tensor
  public let eps: Double

  public init(_ dimension: Int, eps: Double = 1e-6) {
    weight = Init.ones([dimension])
    self.eps = eps
    super.init()
  }

  public func forward(_ x: Tensor) -> Tensor { rmsNorm(x, weight: weight, eps: eps) }
}

/// Inverted dropout, active in training mode only.
public final class Dropout: Module, Layer {
  public let p: Double
  public let generator: Generator

  public init(_ p: Double = 0.5, generator: Generator = .global) {
    self.p = p
    self.generator = generator
    super.init()
  }

  public func forward(_ x: Tensor) -> Tensor { dropout(x, p: p, training: training, generator: generator) }
}

/// Runs layers in order.
public final class Sequential: Module, Layer {
  public let layers: [Module]

  public init(_ layers: [Module]) {
    for (i, l) in layers.enumerated() where !(l is any Layer) {
      preconditionFailure("Sequential: item \(i) (\(type(of: l))) is not a Layer")
    }
    self.layers = layers
    super.init()
  }

  public convenience init(_ layers: Module...) { self.init(layers) }

  /// PyTorch's Sequential names children "0", "1", …
  override public var keyOverrides: [String: String] { ["layers": ""] }

  public func forward(_ x: Tensor) -> Tensor {
    layers.reduce(x) { ($1 as! any Layer)($0) }
  }
}

/// Activation layers.
public final class ReLU: Module, Layer {
  override public init() { super.init() }
  public func forward(_ x: Tensor) -> Tensor { x.relu() }
}

public final class LeakyReLU: Module, Layer {
  public let negativeSlope: Double
  public init(negativeSlope: Double = 0.01) {
    self.negativeSlope = negativeSlope
    super.init()
  }
  public func forward(_ x: Tensor) -> Tensor { x.leakyRelu(negativeSlope: negativeSlope) }
}

public final class GELU: Module, Layer {
  public let approximate: String
  public init(approximate: String = "none") {
    self.approximate = approximate
    super.init()
  }
  public func forward(_ x: Tensor) -> Tensor { x.gelu(approximate: approximate) }
}

public final class SiLU: Module, Layer {
  override public init() { super.init() }
  public func forward(_ x: Tensor) -> Tensor { x.silu() }
}

public final class Tanh: Module, Layer {
  override public init() { super.init() }
  public func forward(_ x: Tensor) -> Tensor { x.tanh() }
}

public final class Sigmoid: Module, Layer {
  override public init() { super.init() }
  public func forward(_ x: Tensor) -> Tensor { x.sigmoid() }
}

public final class Softmax: Module, Layer {
  public let dim: Int
  public init(dim: Int = -1) {
    self.dim = dim
    super.init()
  }
  public func forward(_ x: Tensor) -> Tensor { x.softmax(dim: dim) }
}

public final class Flatten: Module, Layer {
  public let startDim: Int, endDim: Int
  public init(startDim: Int = 1, endDim: Int = -1) {
    self.startDim = startDim
    self.endDim = endDim
    super.init()
  }
  public func forward(_ x: Tensor) -> Tensor { x.flatten(startDim: startDim, endDim: endDim) }
}
