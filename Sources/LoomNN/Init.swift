import LoomCore

/// Parameter initialisers matching `torch.nn.init`, drawing from a `Generator`.
public enum Init {
  /// fan_in and fan_out of a weight of shape [out, in, k…] (PyTorch's convention).
  public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
    guard shape.count >= 2 else { return (shape.first ?? 1, shape.first ?? 1) }
    let receptive = shape.dropFirst(2).reduce(1, *)
    return (shape[1] * receptive, shape[0] * receptive)
  }

  public static func uniform(_ shape: [Int], bound: Double, generator: Generator = .global) -> Tensor {
    ParameterCreation.initialized(shape) {
      Tensor.rand(shape, low: -bound, high: bound, generator: generator).requiringGrad()
    }
  }

  public static func normal(_ shape: [Int], mean: Double = 0, std: Double, generator: Generator = .global) -> Tensor {
    ParameterCreation.initialized(shape) {
      Tensor.randn(shape, mean: mean, std: std, generator: generator).requiringGrad()
    }
  }

  /// kaiming_uniform_(a): bound = gain · sqrt(3 / fan_in), gain = sqrt(2 / (1 + a²)).
  public static func kaimingUniform(_ shape: [Int], a: Double = 0, generator: Generator = .global) -> Tensor {
    let gain = (2 / (1 + a * a)).squareRoot()
    return uniform(shape, bound: gain * (3 / Double(fans(shape).fanIn)).squareRoot(), generator: generator)
  }

  public static func kaimingNormal(_ shape: [Int], a: Double = 0, generator: Generator = .global) -> Tensor {
    let gain = (2 / (1 + a * a)).squareRoot()
    return normal(shape, std: gain / Double(fans(shape).fanIn).squareRoot(), generator: generator)
  }

  public static func xavierUniform(_ shape: [Int], gain: Double = 1, generator: Generator = .global) -> Tensor {
    let (i, o) = fans(shape)
    return uniform(shape, bound: gain * (6 / Double(i + o)).squareRoot(), generator: generator)
  }

  public static func xavierNormal(_ shape: [Int], gain: Double = 1, generator: Generator = .global) -> Tensor {
    let (i, o) = fans(shape)
    return normal(shape, std: gain * (2 / Double(i + o)).squareRoot(), generator: generator)
  }

  /// Re-draws an existing weight N(mean, std²) in place (HF's `_init_weights`, torch's
  /// `normal_`); nothing to do while a model is built for loading (`ParameterCreation`).
  public static func redrawNormal(_ weight: Tensor, mean: Double = 0, std: Double, generator: Generator = .global) {
    if ParameterCreation.scope?.skipsInitialization == true { return }
    noGrad { weight.fillNormal(mean: mean, std: std, generator: generator) }
  }

  public static func zeros(_ shape: [Int]) -> Tensor {
    ParameterCreation.initialized(shape) { Tensor.zeros(shape).requiringGrad() }
  }
  public static func ones(_ shape: [Int]) -> Tensor {
    ParameterCreation.initialized(shape) { Tensor.ones(shape).requiringGrad() }
  }
}
