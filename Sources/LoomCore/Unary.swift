/// Differentiable elementwise functions. Backward formulas are written with Tensor ops
/// (so they differentiate again under createGraph); activations whose derivative needs
/// several ops use a fused C kernel when no graph is being built.
extension Tensor {
  func unaryRecorded(_ op: UnaryOp, _ name: String, _ backward: @escaping (Tensor, Tensor) -> Tensor) -> Tensor {
    let out = backend.unary(op, self)
    return out.recorded(name, inputs: [self]) { g, y in [backward(g, y)] }
  }

  /// Fused backward for float32 when no graph of the gradient is recorded.
  func fusedBackward(_ op: UnaryOp, _ g: Tensor) -> Tensor? {
    guard !GradMode.isEnabled else { return nil }
    return backend.unaryBackward(op, input: detach(), gradOutput: g)
  }

  public func neg() -> Tensor { unaryRecorded(.neg, "NegBackward") { g, _ in -g } }
  public func exp() -> Tensor { unaryRecorded(.exp, "ExpBackward") { g, y in g * y } }
  public func log() -> Tensor { unaryRecorded(.log, "LogBackward") { g, _ in g / self } }
  public func sqrt() -> Tensor { unaryRecorded(.sqrt, "SqrtBackward") { g, y in g / (y * 2) } }
  public func rsqrt() -> Tensor {
    unaryRecorded(.rsqrt, "RsqrtBackward") { g, y in g * y * y * y * -0.5 }
  }
  public func square() -> Tensor { unaryRecorded(.square, "PowBackward") { g, _ in g * self * 2 } }
  public func reciprocal() -> Tensor {
    unaryRecorded(.reciprocal, "ReciprocalBackward") { g, y in -(g * y * y) }
  }
  public func abs() -> Tensor {
    unaryRecorded(.abs, "AbsBackward") { g, _ in g * self.backend.unary(.sign, self) }
  }
  public func sin() -> Tensor { unaryRecorded(.sin, "SinBackward") { g, _ in g * self.cos() } }
  public func cos() -> Tensor { unaryRecorded(.cos, "CosBackward") { g, _ in -(g * self.sin()) } }
  public func erf() -> Tensor {
    unaryRecorded(.erf, "ErfBackward") { g, _ in g * (-(self.square())).exp() * (2 / Double.pi.squareRoot()) }
  }

  public func tanh() -> Tensor {
    unaryRecorded(.tanh, "TanhBackward") { g, y in g * (1 - y * y) }
  }

  public func sigmoid() -> Tensor {
    unaryRecorded(.sigmoid, "SigmoidBackward") { g, y in g * y * (1 - y) }
  }

  public func relu() -> Tensor {
    unaryRecorded(.relu, "ReluBackward") { g, _ in
      self.fusedBackward(.relu, g) ?? g * (self > 0).to(g.dtype)
    }
  }

  public func leakyRelu(negativeSlope: Double = 0.01) -> Tensor {
    let out = backend.leakyRelu(detach(), negativeSlope: negativeSlope)
    return out.recorded("LeakyReluBackward", inputs: [self]) { g, _ in
      let pos = (self > 0).to(g.dtype)
      return [g * (pos + (1 - pos) * negativeSlope)]
    }
  }

  /// GELU; `approximate: "tanh"` uses the tanh formula (GPT-2's gelu_new).
  public func gelu(approximate: String = "none") -> Tensor {
    if approximate == "tanh" {
      return unaryRecorded(.geluTanh, "GeluBackward") { g, _ in
        if let fast = self.fusedBackward(.geluTanh, g) { return fast }
        let k = (2 / Double.pi).squareRoot()
        let x = self
        let t = ((x + x * x * x * 0.044715) * k).tanh()
        let dt = (1 - t * t) * k * (1 + x * x * (3 * 0.044715))
        return g * ((1 + t) * 0.5 + x * dt * 0.5)
      }
    }
    return unaryRecorded(.geluErf, "GeluBackward") { g, _ in
      if let fast = self.fusedBackward(.geluErf, g) { return fast }
      let x = self
      let cdf = ((x * (1 / 2.0.squareRoot())).erf() + 1) * 0.5
      let pdf = (x * x * -0.5).exp() * (1 / (2 * Double.pi).squareRoot())
      return g * (cdf + x * pdf)
    }
  }

  /// SiLU / swish: x * sigmoid(x).
  public func silu() -> Tensor {
    unaryRecorded(.silu, "SiluBackward") { g, _ in
      if let fast = self.fusedBackward(.silu, g) { return fast }
      let s = self.sigmoid()
      return g * s * (1 + self * (1 - s))
    }
  }

  /// Clamps values to [min, max]; gradient passes where not clamped.
  public func clamp(min lo: Double? = nil, max hi: Double? = nil) -> Tensor {
    var r = self
    if let lo { r = r.maximum(Tensor.scalar(lo, dtype: dtype, device: device)) }
    if let hi { r = r.minimum(Tensor.scalar(hi, dtype: dtype, device: device)) }
    return r
  }
}
