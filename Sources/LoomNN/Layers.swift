import LoomCore

/// y = x·Wᵀ + b, weight [out, in]; PyTorch's default initialisation.
open class Linear: Module {
  @Parameter public var weight: Tensor
  @Parameter public var bias: Tensor?

  public init(
    _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator = .global
  ) {
    weight = Init.kaimingUniform(
      [outFeatures, inFeatures], a: 5.0.squareRoot(), generator: generator)
    let bound = 1 / Double(Swift.max(inFeatures, 1)).squareRoot()
    self.bias = bias ? Init.uniform([outFeatures], bound: bound, generator: generator) : nil
    super.init()
  }

  /// A Linear over existing tensors (weight [out, in]), e.g. an adapter subclass that
  /// keeps the layer it wraps.
  public init(weight: Tensor, bias: Tensor?) {
    self.weight = weight
    self.bias = bias
    super.init()
  }

  /// Open so that a subclass storing the weight in another form (Linear4bit's packed codes) reports its shape.
  open var inFeatures: Int { weight.shape[1] }
  open var outFeatures: Int { weight.shape[0] }

  override open func forward(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

  override open var extraDescription: String {
    "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(pythonBool(bias != nil))"
  }
}

/// A lookup table [num, dim], initialised N(0, 1) like PyTorch.
open class Embedding: Module {
  @Parameter public var weight: Tensor

  public init(_ count: Int, _ dimension: Int, generator: Generator = .global) {
    weight = Init.normal([count, dimension], std: 1, generator: generator)
    super.init()
  }

  override open func forward(_ ids: Tensor) -> Tensor { Tensor.embedding(ids, weight: weight) }

  override open var extraDescription: String { "\(weight.shape[0]), \(weight.shape[1])" }
}

/// Layer normalisation over the last dimension.
open class LayerNorm: Module {
  @Parameter public var weight: Tensor?
  @Parameter public var bias: Tensor?
  public let eps: Double
  public let normalizedShape: Int

  public init(
    _ dimension: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true
  ) {
    weight = elementwiseAffine ? Init.ones([dimension]) : nil
    self.bias = elementwiseAffine && bias ? Init.zeros([dimension]) : nil
    self.eps = eps
    normalizedShape = dimension
    super.init()
  }

  override open func forward(_ x: Tensor) -> Tensor {
    layerNorm(x, weight: weight, bias: bias, eps: eps)
  }

  override open var extraDescription: String {
    "\(pythonTuple([normalizedShape])), eps=\(eps), elementwise_affine=\(pythonBool(weight != nil))"
  }
}

/// RMS normalisation over the last dimension.
open class RMSNorm: Module {
  @Parameter public var weight: Tensor
  public let eps: Double

  public init(_ dimension: Int, eps: Double = 1e-6) {
    weight = Init.ones([dimension])
    self.eps = eps
    super.init()
  }

  override open func forward(_ x: Tensor) -> Tensor { rmsNorm(x, weight: weight, eps: eps) }

  override open var extraDescription: String {
    "\(pythonTuple([weight.shape[0]])), eps=\(eps), elementwise_affine=True"
  }
}

/// Inverted dropout, active in training mode only.
open class Dropout: Module {
  public let p: Double
  public let generator: Generator

  public init(_ p: Double = 0.5, generator: Generator = .global) {
    self.p = p
    self.generator = generator
    super.init()
  }

  override open func forward(_ x: Tensor) -> Tensor {
    dropout(x, p: p, training: training, generator: generator)
  }

  override open var extraDescription: String { "p=\(p), inplace=False" }
}

/// Runs layers in order; children are named "0", "1", … like PyTorch's.
open class Sequential: Module {
  @Child(key: "") public private(set) var layers: [Module]

  public init(_ layers: [Module]) {
    _layers.wrappedValue = layers
    super.init()
  }

  public convenience init(_ layers: Module...) { self.init(layers) }

  override open func forward(_ x: Tensor) -> Tensor {
    layers.reduce(x) { $1($0) }
  }
}

/// Activation layers.
open class ReLU: Module {
  override public init() { super.init() }
  override open func forward(_ x: Tensor) -> Tensor { x.relu() }
}

open class LeakyReLU: Module {
  public let negativeSlope: Double
  public init(negativeSlope: Double = 0.01) {
    self.negativeSlope = negativeSlope
    super.init()
  }
  override open func forward(_ x: Tensor) -> Tensor { x.leakyRelu(negativeSlope: negativeSlope) }
  override open var extraDescription: String { "negative_slope=\(negativeSlope)" }
}

open class GELU: Module {
  public let approximate: String
  public init(approximate: String = "none") {
    self.approximate = approximate
    super.init()
  }
  override open func forward(_ x: Tensor) -> Tensor { x.gelu(approximate: approximate) }
  override open var extraDescription: String { "approximate='\(approximate)'" }
}

open class SiLU: Module {
  override public init() { super.init() }
  override open func forward(_ x: Tensor) -> Tensor { x.silu() }
}

open class Tanh: Module {
  override public init() { super.init() }
  override open func forward(_ x: Tensor) -> Tensor { x.tanh() }
}

open class Sigmoid: Module {
  override public init() { super.init() }
  override open func forward(_ x: Tensor) -> Tensor { x.sigmoid() }
}

open class Softmax: Module {
  public let dim: Int
  public init(dim: Int = -1) {
    self.dim = dim
    super.init()
  }
  override open func forward(_ x: Tensor) -> Tensor { x.softmax(dim: dim) }
  override open var extraDescription: String { "dim=\(dim)" }
}

open class Flatten: Module {
  public let startDim: Int, endDim: Int
  public init(startDim: Int = 1, endDim: Int = -1) {
    self.startDim = startDim
    self.endDim = endDim
    super.init()
  }
  override open func forward(_ x: Tensor) -> Tensor {
    x.flatten(startDim: startDim, endDim: endDim)
  }
  override open var extraDescription: String { "start_dim=\(startDim), end_dim=\(endDim)" }
}
