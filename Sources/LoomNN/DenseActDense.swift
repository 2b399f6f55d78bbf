import LoomCore

/// T5's feed-forward with its names (`T5DenseActDense`, also Switch Transformers' experts):
/// wo(dropout(act(wi(x)))), no biases.
open class DenseActDense: Module {
  @Child public var wi: Linear
  @Child public var wo: Linear
  public let activation: Activation
  public let dropout: Double
  public let generator: Generator

  public init(
    _ dimension: Int, hidden: Int, activation: Activation = .relu, dropout: Double = 0,
    generator: Generator = .global
  ) {
    wi = Linear(dimension, hidden, bias: false, generator: generator)
    wo = Linear(hidden, dimension, bias: false, generator: generator)
    self.activation = activation
    self.dropout = dropout
    self.generator = generator
    super.init()
  }

  override open func forward(_ x: Tensor) -> Tensor {
    wo(LoomCore.dropout(activation(wi(x)), p: dropout, training: training, generator: generator))
  }
}
