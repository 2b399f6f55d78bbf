import LoomCore

/// LLaMA's feed-forward (`LlamaMLP`): down_proj(silu(gate_proj(x)) · up_proj(x)).
/// Shazeer 2020's SwiGLU; no biases by default (LLaMA's `mlp_bias=False`).
open class SwiGLU: Module {
  @Child public var gateProj: Linear
  @Child public var upProj: Linear
  @Child public var downProj: Linear

  override public var keyOverrides: [String: String] {
    ["gateProj": "gate_proj", "upProj": "up_proj", "downProj": "down_proj"]
  }

  public init(_ dimension: Int, hidden: Int, bias: Bool = false, generator: Generator = .global) {
    gateProj = Linear(dimension, hidden, bias: bias, generator: generator)
    upProj = Linear(dimension, hidden, bias: bias, generator: generator)
    downProj = Linear(hidden, dimension, bias: bias, generator: generator)
    super.init()
  }

  override open func forward(_ x: Tensor) -> Tensor {
    Functional.swiGLU(
      x, gate: gateProj.weight, up: upProj.weight, down: downProj.weight, gateBias: gateProj.bias,
      upBias: upProj.bias,
      downBias: downProj.bias)
  }
}

/// Shazeer 2020's GEGLU feed-forward with T5 v1.1's names (`T5DenseGatedActDense`):
/// wo(dropout(gelu(wi_0(x)) · wi_1(x))). `approximate` "tanh" is T5's `gelu_new`
/// (the default), "none" the exact GELU. No biases by default, like T5.
open class GeGLU: Module {
  @Child public var wi_0: Linear
  @Child public var wi_1: Linear
  @Child public var wo: Linear
  public let approximate: String
  public let dropout: Double
  public let generator: Generator

  public init(
    _ dimension: Int, hidden: Int, bias: Bool = false, approximate: String = "tanh",
    dropout: Double = 0,
    generator: Generator = .global
  ) {
    wi_0 = Linear(dimension, hidden, bias: bias, generator: generator)
    wi_1 = Linear(dimension, hidden, bias: bias, generator: generator)
    wo = Linear(hidden, dimension, bias: bias, generator: generator)
    self.approximate = approximate
    self.dropout = dropout
    self.generator = generator
    super.init()
  }

  override open func forward(_ x: Tensor) -> Tensor {
    Functional.geGLU(
      x, wi0: wi_0.weight, wi1: wi_1.weight, wo: wo.weight, bias0: wi_0.bias, bias1: wi_1.bias,
      outBias: wo.bias,
      approximate: approximate, dropout: dropout, training: training, generator: generator)
  }
}

extension Functional {
  /// down(silu(x·gateᵀ + b) · (x·upᵀ + b)) + b — `SwiGLU`'s forward with explicit weights.
  public static func swiGLU(
    _ x: Tensor, gate: Tensor, up: Tensor, down: Tensor, gateBias: Tensor? = nil,
    upBias: Tensor? = nil,
    downBias: Tensor? = nil
  ) -> Tensor {
    let h = linear(x, weight: gate, bias: gateBias).silu() * linear(x, weight: up, bias: upBias)
    return linear(h, weight: down, bias: downBias)
  }

  /// wo(dropout(gelu(x·wi0ᵀ) · x·wi1ᵀ)) — `GeGLU`'s forward with explicit weights.
  public static func geGLU(
    _ x: Tensor, wi0: Tensor, wi1: Tensor, wo: Tensor, bias0: Tensor? = nil, bias1: Tensor? = nil,
    outBias: Tensor? = nil, approximate: String = "tanh", dropout p: Double = 0,
    training: Bool = false,
    generator: Generator = .global
  ) -> Tensor {
    let h =
      linear(x, weight: wi0, bias: bias0).gelu(approximate: approximate)
      * linear(x, weight: wi1, bias: bias1)
    return linear(
      dropout(h, p: p, training: training, generator: generator), weight: wo, bias: outBias)
  }
}
