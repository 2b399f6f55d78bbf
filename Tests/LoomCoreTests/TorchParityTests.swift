import Foundation
import LoomCore
import XCTest

/// Parity with PyTorch on fixtures written by scripts/fixtures/make_core_fixtures.py:
/// forward outputs and gradients (for a fixed upstream gradient) of float32 ops.
final class TorchParityTests: XCTestCase {
  struct Blob: Decodable {
    let shape: [Int]
    let data: [Double]
  }
  struct Case: Decodable {
    let inputs: [String: Blob]
    let ints: [String: Blob]
    let upstream: Blob
    let output: Blob
    let grads: [String: Blob]
  }
  struct File: Decodable { let cases: [String: Case] }

  static let fixtures: [String: Case] = {
    let url = Bundle.module.url(forResource: "torch_ops", withExtension: "json", subdirectory: "Fixtures")!
    return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
  }()

  /// Runs `body` on the case's inputs (float32 leaves) and compares output and grads.
  func check(
    _ name: String, tolerance: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line,
    _ body: ([String: Tensor], [String: Tensor]) -> Tensor
  ) {
    guard let c = Self.fixtures[name] else { return XCTFail("missing fixture \(name)", file: file, line: line) }
    var inputs: [String: Tensor] = [:]
    for (k, b) in c.inputs { inputs[k] = Tensor(b.data.map { Float($0) }, shape: b.shape).requiringGrad() }
    var ints: [String: Tensor] = [:]
    for (k, b) in c.ints { ints[k] = Tensor(b.data.map { Int64($0) }, shape: b.shape) }
    let out = body(inputs, ints)
    XCTAssertEqual(out.shape, c.output.shape, "\(name) output shape", file: file, line: line)
    assertClose(out.toArray(Double.self), c.output.data, tolerance, "\(name) output", file: file, line: line)
    out.backward(Tensor(c.upstream.data.map { Float($0) }, shape: c.upstream.shape))
    for (k, expected) in c.grads {
      guard let g = inputs[k]?.grad else { XCTFail("\(name): no gradient for \(k)", file: file, line: line); continue }
      XCTAssertEqual(g.shape, expected.shape, "\(name) grad \(k) shape", file: file, line: line)
      assertClose(g.toArray(Double.self), expected.data, tolerance, "\(name) grad \(k)", file: file, line: line)
    }
  }

  func assertClose(
    _ a: [Double], _ b: [Double], _ tol: Double, _ what: String, file: StaticString, line: UInt
  ) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    var worst = 0.0
    for (x, y) in zip(a, b) {
      if x.isNaN && y.isNaN { continue }
      worst = max(worst, abs(x - y) / max(1, abs(y)))
    }
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max error \(worst)", file: file, line: line)
  }

  func testActivations() {
    check("softmax_last") { i, _ in i["x"]!.softmax(dim: -1) }
    check("softmax_dim1") { i, _ in i["x"]!.softmax(dim: 1) }
    check("log_softmax_last") { i, _ in i["x"]!.logSoftmax(dim: -1) }
    check("gelu") { i, _ in i["x"]!.gelu() }
    check("gelu_tanh") { i, _ in i["x"]!.gelu(approximate: "tanh") }
    check("silu") { i, _ in i["x"]!.silu() }
    check("sigmoid") { i, _ in i["x"]!.sigmoid() }
    check("tanh") { i, _ in i["x"]!.tanh() }
    check("relu") { i, _ in i["x"]!.relu() }
    check("exp_log") { i, _ in (i["x"]!.exp() + 1.5).log() }
    check("sqrt") { i, _ in (i["x"]!.abs() + 0.5).sqrt() }
  }

  func testArithmeticAndReductions() {
    check("broadcast_arith") { i, _ in
      let (a, b, c) = (i["a"]!, i["b"]!, i["c"]!)
      return (a * b - c) / (b.abs() + 1) + a.sum(dim: 0, keepDim: true)
    }
    check("reductions") { i, _ in
      let x = i["x"]!
      return Tensor.stack([
        x.sum(dims: [0, 2]), x.mean(dims: [0, 2]), x.variance(dims: [0, 2]),
        x.permute(1, 0, 2).reshape([3, -1]).max(dim: 1).values,
      ])
    }
  }

  func testMatmulAndLinear() {
    check("matmul_batched") { i, _ in i["a"]!.matmul(i["b"]!) }
    check("matmul_transposed") { i, _ in i["a"]!.matmul(i["b"]!.T) }
    check("linear") { i, _ in linear(i["x"]!, weight: i["w"]!, bias: i["b"]!) }
  }

  func testNormalization() {
    check("layer_norm") { i, _ in layerNorm(i["x"]!, weight: i["w"]!, bias: i["b"]!, eps: 1e-5) }
    check("rms_norm") { i, _ in rmsNorm(i["x"]!, weight: i["w"]!, eps: 1e-6) }
  }

  func testCrossEntropy() {
    check("cross_entropy_mean") { i, n in crossEntropy(i["x"]!, n["y"]!).reshape([1]) }
    check("cross_entropy_smooth_sum") { i, n in
      crossEntropy(i["x"]!, n["y"]!, labelSmoothing: 0.1, reduction: .sum).reshape([1])
    }
    check("cross_entropy_none") { i, n in crossEntropy(i["x"]!, n["y"]!, reduction: .none) }
  }

  func testAttention() {
    check("sdpa_causal") { i, _ in scaledDotProductAttention(i["q"]!, i["k"]!, i["v"]!, isCausal: true) }
    check("sdpa_padding_mask") { i, n in
      scaledDotProductAttention(i["q"]!, i["k"]!, i["v"]!, mask: n["mask"]!.to(.bool))
    }
  }

  func testIndexing() {
    check("embedding") { i, n in Tensor.embedding(n["i"]!, weight: i["w"]!) }
    check("gather") { i, n in i["x"]!.gather(dim: 1, index: n["i"]!) }
    check("cat_slice") { i, _ in
      Tensor.cat([i["a"]!, i["b"]!.slice(dim: 1, start: 1, end: 3)], dim: 1).transpose(0, 1).reshape([-1, 2])
    }
  }

  /// A whole GPT-2 block (HF Conv1D layout) against PyTorch, ≤ 1e-4.
  func testGPT2Block() {
    check("gpt2_block", tolerance: 1e-4) { p, _ in
      let x = p["x"]!
      let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
      let h = 2
      let a = layerNorm(x, weight: p["ln1_w"]!, bias: p["ln1_b"]!)
      let qkv = addmm(a, weight: p["attn_w"]!, bias: p["attn_b"]!)
      let parts = qkv.split([c, c, c], dim: 2).map { $0.reshape([b, t, h, c / h]).transpose(1, 2) }
      let y = scaledDotProductAttention(parts[0], parts[1], parts[2], isCausal: true)
        .transpose(1, 2).reshape([b, t, c])
      let x1 = x + (y.matmul(p["proj_w"]!) + p["proj_b"]!)
      let m = layerNorm(x1, weight: p["ln2_w"]!, bias: p["ln2_b"]!)
      let f = addmm(m, weight: p["fc_w"]!, bias: p["fc_b"]!).gelu(approximate: "tanh")
      return x1 + (f.matmul(p["fc2_w"]!) + p["fc2_b"]!)
    }
  }
}
