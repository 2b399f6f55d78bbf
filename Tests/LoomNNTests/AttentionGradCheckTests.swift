import LoomCore
import LoomNN
import XCTest

/// Finite-difference checks (float64) of multi-head attention, RoPE and the gated
/// feed-forwards, through the functional forms the modules call.
final class AttentionGradCheckTests: XCTestCase {
  let gen = Generator(seed: 11)
  func leaf(_ shape: [Int], scale: Double = 1) -> Tensor {
    (Tensor.randn(shape, dtype: .float64, generator: gen) * scale).detach().requiringGrad()
  }

  func assertPasses(
    _ r: GradCheck.Result, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertTrue(r.passed, "\(what): \(r)", file: file, line: line)
  }

  func testPackedSelfAttentionGradients() {
    let x = leaf([2, 3, 4])
    let w = leaf([12, 4], scale: 0.5)
    let b = leaf([12])
    let wo = leaf([4, 4], scale: 0.5)
    let bo = leaf([4])
    let padding = Tensor([false, false, false, false, false, true], shape: [2, 3])
    let r = GradCheck.check([x, w, b, wo, bo]) {
      Functional.multiheadAttention(
        $0[0], $0[0], $0[0], heads: 2, inProjWeight: $0[1], inProjBias: $0[2], outProjWeight: $0[3], outProjBias: $0[4],
        keyPaddingMask: padding, isCausal: true
      ).output
    }
    assertPasses(r, "self-attention (packed projection, key padding, causal)")
  }

  func testCrossAttentionWithWeightsGradients() {
    let q = leaf([2, 3, 4])
    let k = leaf([2, 4, 3])
    let v = leaf([2, 4, 5])
    let wq = leaf([4, 4], scale: 0.5)
    let wk = leaf([4, 3], scale: 0.5)
    let wv = leaf([4, 5], scale: 0.5)
    let b = leaf([12])
    let wo = leaf([4, 4], scale: 0.5)
    let mask = Tensor.randn([3, 4], dtype: .float64, generator: gen)
    let r = GradCheck.check([q, k, v, wq, wk, wv, b, wo]) {
      let r = Functional.multiheadAttention(
        $0[0], $0[1], $0[2], heads: 2, qProjWeight: $0[3], kProjWeight: $0[4], vProjWeight: $0[5], inProjBias: $0[6],
        outProjWeight: $0[7], attnMask: mask, needWeights: true)
      // Output and head-averaged weights in one vector.
      return Tensor.cat([r.output.reshape([-1]), r.weights!.reshape([-1])])
    }
    assertPasses(r, "cross-attention (separate projections, float mask, weights)")
  }

  func testRotaryEmbeddingGradients() throws {
    let x = leaf([2, 2, 3, 6])
    let full = try RotaryEmbedding(headDim: 6, base: 100)
    assertPasses(GradCheck.check([x]) { full.apply($0[0], offset: 4) }, "rope")
    let partial = try RotaryEmbedding(headDim: 6, rotaryDim: 4)
    let positions = Tensor([Int64(0), 1, 2, 5, 6, 7], shape: [2, 3])
    assertPasses(
      GradCheck.check([x]) { partial.apply($0[0], positions: positions) },
      "partial rope, position ids")
  }

  func testGatedFeedForwardGradients() {
    let x = leaf([2, 3, 4])
    let gate = leaf([5, 4])
    let up = leaf([5, 4])
    let down = leaf([4, 5])
    let bg = leaf([5])
    let bu = leaf([5])
    let bd = leaf([4])
    assertPasses(
      GradCheck.check([x, gate, up, down, bg, bu, bd]) {
        Functional.swiGLU(
          $0[0], gate: $0[1], up: $0[2], down: $0[3], gateBias: $0[4], upBias: $0[5], downBias: $0[6])
      }, "swiglu")
    for approximate in ["tanh", "none"] {
      assertPasses(
        GradCheck.check([x, gate, up, down]) {
          Functional.geGLU($0[0], wi0: $0[1], wi1: $0[2], wo: $0[3], approximate: approximate)
        }, "geglu (\(approximate))")
    }
  }
}
