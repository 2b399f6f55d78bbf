/// Finite-difference gradient checking (like `torch.autograd.gradcheck`), for float64.
public enum GradCheck {
  public struct Result: CustomStringConvertible {
    public let maxAbsError: Double
    public let worst: String
    public let passed: Bool
    public var description: String { "max |analytic - numeric| = \(maxAbsError) at \(worst)" }
  }

  /// Compares autograd's gradient of `sum(f(inputs) * w)` (fixed random w) with central
  /// differences. Inputs must be float64 leaves with requiresGrad.
  public static func check(
    _ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-4,
    _ f: ([Tensor]) -> Tensor
  ) -> Result {
    let weightGen = Generator(seed: 1234)
    let probe = f(inputs).detach()
    let w = Tensor.randn(probe.shape, dtype: .float64, generator: weightGen)
    // Runs with recording on: f may take gradients itself (e.g. a gradient penalty).
    func objective() -> Double { (f(inputs).to(.float64) * w).sum().item() }
    let out = (f(inputs).to(.float64) * w).sum()
    let analytic = gradients(of: [out], wrt: inputs)
    return compare(inputs, analytic: analytic, eps: eps, atol: atol, rtol: rtol, objective: objective)
  }

  /// Checks second-order gradients: the gradient of `sum(grad_x(sum(f·w)) · v)` against
  /// finite differences of the first-order gradient.
  public static func checkSecondOrder(
    _ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-4,
    _ f: ([Tensor]) -> Tensor
  ) -> Result {
    let gen = Generator(seed: 4321)
    let probe = f(inputs).detach()
    let w = Tensor.randn(probe.shape, dtype: .float64, generator: gen)
    let vs = inputs.map { Tensor.randn($0.shape, dtype: .float64, generator: gen) }
    func firstOrder(createGraph: Bool) -> Tensor {
      let out = (f(inputs).to(.float64) * w).sum()
      let g = gradients(of: [out], wrt: inputs, createGraph: createGraph)
      var total = Tensor.zeros([], dtype: .float64, device: inputs.first?.device ?? .default)
      for (gi, v) in zip(g, vs) where gi != nil { total = total + (gi! * v).sum() }
      return total
    }
    let second = firstOrder(createGraph: true)
    // A gradient that does not depend on the inputs (piecewise-linear ops) has a zero
    // second derivative; the finite differences must then agree with zero.
    let analytic: [Tensor?] = second.requiresGrad ? gradients(of: [second], wrt: inputs) : inputs.map { _ in nil }
    return compare(inputs, analytic: analytic, eps: eps, atol: atol, rtol: rtol) {
      firstOrder(createGraph: false).item()
    }
  }

  static func compare(
    _ inputs: [Tensor], analytic: [Tensor?], eps: Double, atol: Double, rtol: Double,
    objective: () -> Double
  ) -> Result {
    var maxErr = 0.0
    var worst = "nowhere"
    var passed = true
    for (i, x) in inputs.enumerated() {
      precondition(x.dtype == .float64 && x.isContiguous, "Loom: gradCheck needs contiguous float64 inputs")
      let values = x.toArray(Double.self)
      let a = analytic[i]?.toArray(Double.self) ?? [Double](repeating: 0, count: x.count)
      for j in 0..<x.count {
        // Element j as a one-element view, written in place through the backend.
        let element = x.view(shape: [], strides: [], offset: x.offset + j)
        let saved = values[j]
        element.fill(saved + eps)
        let plus = objective()
        element.fill(saved - eps)
        let minus = objective()
        element.fill(saved)
        let numeric = (plus - minus) / (2 * eps)
        let err = Swift.abs(numeric - a[j])
        if err > atol + rtol * Swift.abs(numeric) { passed = false }
        if err > maxErr {
          maxErr = err
          worst = "input \(i) element \(j) (numeric \(numeric), analytic \(a[j]))"
        }
      }
    }
    return Result(maxAbsError: maxErr, worst: worst, passed: passed)
  }
}
