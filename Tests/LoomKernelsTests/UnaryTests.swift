import CLoomKernels
import Foundation
import XCTest

private func geluErf(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }
private let kT = (2.0 / Double.pi).squareRoot()
private func geluTanh(_ x: Double) -> Double { 0.5 * x * (1 + tanh(kT * (x + 0.044715 * x * x * x))) }
private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

final class UnaryTests: XCTestCase {
  // (op, input range, reference, rtol, atol)
  let forward: [(Int32, Float, Float, (Double) -> Double, Double, Double)] = [
    (Int32(LOOM_EXP.rawValue), -80, 80, exp, 2e-6, 0),
    (Int32(LOOM_LOG.rawValue), 1e-3, 1e3, log, 2e-6, 1e-7),
    (Int32(LOOM_SQRT.rawValue), 0, 100, { $0.squareRoot() }, 1e-7, 0),
    (Int32(LOOM_RSQRT.rawValue), 1e-3, 100, { 1 / $0.squareRoot() }, 2e-7, 0),
    (Int32(LOOM_TANH.rawValue), -10, 10, tanh, 2e-6, 1e-7),
    (Int32(LOOM_SIGMOID.rawValue), -30, 30, sigmoid, 2e-6, 0),
    (Int32(LOOM_RELU.rawValue), -5, 5, { max($0, 0) }, 0, 0),
    (Int32(LOOM_GELU_ERF.rawValue), -8, 8, geluErf, 2e-6, 3e-7),  // 1+erf(x) cancels for x << 0, as in torch
    (Int32(LOOM_GELU_TANH.rawValue), -8, 8, geluTanh, 2e-6, 3e-7),  // same cancellation via 1+tanh
    (Int32(LOOM_SILU.rawValue), -30, 30, { $0 * sigmoid($0) }, 2e-6, 1e-7),
    (Int32(LOOM_NEG.rawValue), -5, 5, { -$0 }, 0, 0),
    (Int32(LOOM_ABS.rawValue), -5, 5, { abs($0) }, 0, 0),
    (Int32(LOOM_SQUARE.rawValue), -5, 5, { $0 * $0 }, 1e-7, 0),
    (Int32(LOOM_RECIPROCAL.rawValue), 0.01, 10, { 1 / $0 }, 1e-7, 0),
    (Int32(LOOM_SIN.rawValue), -20, 20, sin, 2e-6, 2e-7),
    (Int32(LOOM_COS.rawValue), -20, 20, cos, 2e-6, 2e-7),
  ]

  func testForward() {
    forEachISA { w in
      var rng = Rng(3)
      for (op, lo, hi, ref, rtol, atol) in forward {
        for n in tailSizes {
          let x = rng.floats(n, lo, hi)
          var y = [Float](repeating: .nan, count: n)
          loom_unary_f32(op, x, &y, Int64(n))
          check(y, x.map { ref(Double($0)) }, rtol: rtol, atol: atol, "unary op \(op) n=\(n) w=\(w)")
        }
      }
    }
  }

  func testSpecialValues() {
    forEachISA { w in
      let x: [Float] = [0, -0.0, .infinity, -.infinity, 1e-30, -1e-30, 88, -88, 100, -100, 0.5, -0.5, 3, -3, 9, -9]
      var y = [Float](repeating: 0, count: x.count)
      loom_unary_f32(Int32(LOOM_EXP.rawValue), x, &y, Int64(x.count))
      check(y, x.map { exp(Double($0)) }.map { Double(Float($0)) }, rtol: 2e-6, "exp special w=\(w)")
      loom_unary_f32(Int32(LOOM_SIGMOID.rawValue), x, &y, Int64(x.count))
      // 1/(1+exp(-x)) like torch: exp(100) = inf gives 0 instead of a 4e-44 subnormal
      check(y, x.map { sigmoid(Double($0)) }.map { Double(Float($0)) }, rtol: 2e-6, atol: 1e-38, "sigmoid special w=\(w)")
      loom_unary_f32(Int32(LOOM_TANH.rawValue), x, &y, Int64(x.count))
      check(y, x.map { tanh(Double($0)) }, rtol: 2e-6, "tanh special w=\(w)")
      loom_unary_f32(Int32(LOOM_RELU.rawValue), [Float.nan], &y, 1)
      XCTAssertTrue(y[0].isNaN, "relu(NaN) w=\(w)")
    }
  }

  func testPowLeaky() {
    forEachISA { w in
      var rng = Rng(4)
      for n in tailSizes {
        let x = rng.floats(n, 0.01, 4)
        var y = [Float](repeating: 0, count: n)
        for p: Float in [2, 1, 0, 0.5, -1, 3, -0.5, 1.7, -2.3] {
          loom_pow_scalar_f32(x, p, &y, Int64(n))
          check(y, x.map { pow(Double($0), Double(p)) }, rtol: 2e-6, "pow \(p) n=\(n) w=\(w)")
        }
        let z = rng.floats(n, -3, 3)
        loom_leaky_relu_f32(z, 0.01, &y, Int64(n))
        XCTAssertEqual(y, z.map { $0 > 0 ? $0 : $0 * 0.01 }, "leaky n=\(n) w=\(w)")
      }
    }
  }

  func testBackward() {
    let c = kT
    let grads: [(Int32, Float, Float, (Double) -> Double)] = [
      (Int32(LOOM_TANH.rawValue), -10, 10, { 1 - tanh($0) * tanh($0) }),
      (Int32(LOOM_SIGMOID.rawValue), -30, 30, { sigmoid($0) * (1 - sigmoid($0)) }),
      (Int32(LOOM_RELU.rawValue), -3, 3, { $0 > 0 ? 1 : 0 }),
      (Int32(LOOM_GELU_ERF.rawValue), -8, 8, { x in 0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-x * x / 2) / (2 * Double.pi).squareRoot() }),
      (Int32(LOOM_GELU_TANH.rawValue), -8, 8, { x in
        let t = tanh(c * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
      }),
      (Int32(LOOM_SILU.rawValue), -30, 30, { x in sigmoid(x) * (1 + x * (1 - sigmoid(x))) }),
      (Int32(LOOM_EXP.rawValue), -20, 20, exp),
      (Int32(LOOM_LOG.rawValue), 0.01, 100, { 1 / $0 }),
      (Int32(LOOM_SQRT.rawValue), 0.01, 100, { 0.5 / $0.squareRoot() }),
    ]
    forEachISA { w in
      var rng = Rng(5)
      for (op, lo, hi, d) in grads {
        for n in tailSizes {
          let x = rng.floats(n, lo, hi), gy = rng.floats(n, -2, 2)
          var gx = [Float](repeating: .nan, count: n)
          loom_unary_backward_f32(op, x, gy, &gx, Int64(n))
          // tanh/sigmoid derivatives lose relative accuracy where f' is tiny (1 - t^2)
          // GELU-tanh's 1+tanh cancels to 0 for x << 0 (as in torch): f' < 1.5e-6 there
          let atol = op == Int32(LOOM_GELU_TANH.rawValue) ? 3e-6 : 1e-6
          check(gx, zip(x, gy).map { d(Double($0)) * Double($1) }, rtol: 2e-6, atol: atol, "bwd op \(op) n=\(n) w=\(w)")
        }
      }
    }
  }
}
