import LoomCore
import XCTest

/// Half-type products run in one GEMM (bfloat16: oneDNN's AVX512-BF16 / AMX kernels where the CPU
/// has them; elsewhere, and for float16, float32 copies made a block of B at a time): float32
/// accumulation and one rounding, so the result is the float32 product of the same half values
/// rounded once — up to a last-bit flip where two engines' float32 sums straddle a rounding boundary.
final class BFloat16MatmulTests: XCTestCase {
  /// |Loom − reference| within one bf16 step (2⁻⁷ relative; more than a float16 ulp) of each value.
  private func assertWithinOneBF16Step(_ result: Tensor, _ reference: Tensor, _ label: String) {
    let half = result.dtype
    XCTAssertTrue(half.isHalf, label)
    XCTAssertEqual(result.shape, reference.shape, label)
    let got = result.to(.float32).floats
    let want = reference.to(half).to(.float32).floats
    var exact = 0
    for (g, w) in zip(got, want) {
      XCTAssertLessThanOrEqual(abs(g - w), max(abs(w) * 0x1p-7, 1e-4), "\(label): \(g) vs \(w)")
      if g == w { exact += 1 }
    }
    XCTAssertGreaterThan(
      Double(exact), 0.97 * Double(got.count), "\(label): nearly every value should be identical")
  }

  private func rounded(_ t: Tensor) -> Tensor { t.to(.bfloat16).to(.float32) }

  func testMatmulOfEveryLayoutEqualsTheFloat32ProductRoundedOnce() {
    let gen = Generator(seed: 11)
    // Small (one call), a row vector (token-by-token decoding), a product large enough to be
    // split over the pool, and a wide one whose float32 copy of B is made in several blocks.
    for half in [DType.bfloat16, .float16] {
      for (m, k, n) in [(37, 50, 29), (1, 64, 300), (300, 256, 200), (3, 1024, 2100)] {
        let a = Tensor.rand([m, k], low: -1, high: 1, generator: gen).to(half)
        let b = Tensor.rand([k, n], low: -1, high: 1, generator: gen).to(half)
        let at = Tensor.rand([k, m], low: -1, high: 1, generator: gen).to(half)
        let bt = Tensor.rand([n, k], low: -1, high: 1, generator: gen).to(half)
        for (lhs, rhs, label) in [
          (a, b, "A·B"), (a, bt.transpose(0, 1), "A·Bᵀ"), (at.transpose(0, 1), b, "Aᵀ·B"),
          (at.transpose(0, 1), bt.transpose(0, 1), "Aᵀ·Bᵀ"),
        ] {
          let reference = lhs.to(.float32).matmul(rhs.to(.float32))
          assertWithinOneBF16Step(lhs.matmul(rhs), reference, "\(half) \(label) \(m)×\(k)×\(n)")
        }
      }
    }
  }

  func testBatchedMatmulAndLinearWithBias() {
    for half in [DType.bfloat16, .float16] { batchedMatmulAndLinearWithBias(half) }
  }

  private func batchedMatmulAndLinearWithBias(_ half: DType) {
    let gen = Generator(seed: 12)
    let a = Tensor.randn([2, 3, 16, 24], generator: gen).to(half)
    let b = Tensor.randn([3, 24, 8], generator: gen).to(half)
    assertWithinOneBF16Step(a.matmul(b), a.to(.float32).matmul(b.to(.float32)), "broadcast batch")
    let x = Tensor.randn([5, 7, 32], generator: gen).to(half)
    let w = Tensor.randn([48, 32], generator: gen).to(half)
    let bias = Tensor.randn([48], generator: gen).to(half)
    // The bias is written first and the GEMM accumulates onto it (in float32, one rounding at
    // the end in the native kernel; the reference adds the rounded product to it in float32).
    let y = linear(x, weight: w, bias: bias)
    let reference = linear(x.to(.float32), weight: w.to(.float32), bias: bias.to(.float32))
    assertWithinOneBF16Step(y, reference, "linear")
    let conv1d = addmm(x, weight: w.transpose(0, 1).contiguous(), bias: bias)
    assertWithinOneBF16Step(conv1d, reference, "addmm (Conv1D layout)")
  }

  /// Under autocast a float32 linear layer runs in bf16 and its float32 master weights get
  /// float32 gradients, each the float32 gradient up to bf16 rounding of the operands.
  func testGradientsUnderAutocastTrackFloat32() {
    let gen = Generator(seed: 13)
    let x = Tensor.randn([64, 96], generator: gen).requiringGrad()
    let w = (Tensor.randn([80, 96], generator: gen) * 0.1).requiringGrad()
    let b = Tensor.randn([80], generator: gen).requiringGrad()
    let upstream = Tensor.randn([64, 80], generator: gen)
    let y = Autocast.run(dtype: .bfloat16) { linear(x, weight: w, bias: b) }
    XCTAssertEqual(y.dtype, .bfloat16)
    (y.to(.float32) * upstream).sum().backward()
    let (gx, gw, gb) = (x.grad!, w.grad!, b.grad!)
    XCTAssertEqual([gx.dtype, gw.dtype, gb.dtype], [.float32, .float32, .float32])
    // The float32 reference on the rounded values, with the bf16-rounded upstream gradient.
    let x32 = rounded(x.detach()).requiringGrad()
    let w32 = rounded(w.detach()).requiringGrad()
    let b32 = rounded(b.detach()).requiringGrad()
    (linear(x32, weight: w32, bias: b32) * rounded(upstream)).sum().backward()
    for (got, want, name) in [
      (gx, x32.grad!, "x"), (gw, w32.grad!, "weight"), (gb, b32.grad!, "bias"),
    ] {
      let scale = want.abs().max().item()
      let error = (got - want).abs().max().item()
      XCTAssertLessThan(
        error, 0x1p-7 * scale, "gradient of \(name): max error \(error) at scale \(scale)")
    }
  }
}
