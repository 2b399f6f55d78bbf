import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomOptim
import XCTest

/// MultiheadAttention, positional encodings, RoPE, gated feed-forwards and Adafactor
/// against PyTorch / Hugging Face (fixtures from scripts/fixtures/nn_attention.py).
final class AttentionParityTests: XCTestCase {
  static let file: SafeTensorsFile = {
    let url = Bundle.module.url(
      forResource: "torch_attention", withExtension: "safetensors", subdirectory: "Fixtures")!
    return try! SafeTensorsFile(path: url.path)
  }()

  func load(_ key: String) -> Tensor { try! Self.file.tensor(key) }

  func maxError(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line)
    -> Double
  {
    XCTAssertEqual(a.shape, b.shape, file: file, line: line)
    guard a.shape == b.shape else { return .infinity }
    return zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
  }

  func state(_ name: String) -> [String: Tensor] {
    let prefix = "\(name).state."
    var out: [String: Tensor] = [:]
    for key in Self.file.names where key.hasPrefix(prefix) {
      out[String(key.dropFirst(prefix.count))] = load(key)
    }
    return out
  }

  /// Loads the module's torch state (strictly: same keys), runs `forward` on the
  /// fixture inputs, backpropagates sum(outputᵢ · probeᵢ) and returns the largest error
  /// over outputs, input gradients and parameter gradients.
  @discardableResult
  func check(
    _ name: String, _ module: Module, inputs: [String], tol: Double, file: StaticString = #filePath, line: UInt = #line,
    _ forward: ([Tensor]) -> [Tensor]
  ) -> Double {
    XCTAssertNoThrow(try module.loadStateDict(state(name)), file: file, line: line)
    let xs = inputs.map { load("\(name).\($0)").requiringGrad() }
    let ys = forward(xs)
    var loss = Tensor.zeros([])
    var worst = 0.0
    for (i, y) in ys.enumerated() {
      worst = max(worst, maxError(y, load("\(name).output\(i)"), file: file, line: line))
      loss = loss + (y * load("\(name).probe\(i)")).sum()
    }
    loss.backward()
    for (key, x) in zip(inputs, xs) {
      worst = max(worst, maxError(x.grad!, load("\(name).grad.\(key)"), file: file, line: line))
    }
    for (key, p) in module.namedParameters() {
      worst = max(worst, maxError(p.grad!, load("\(name).grad.\(key)"), file: file, line: line))
    }
    XCTAssertLessThanOrEqual(worst, tol, "\(name): max error \(worst)", file: file, line: line)
    print("parity \(name): max abs error \(worst)")
    return worst
  }

  func testSelfAttentionWithPaddingAndCausalMaskMatchesPyTorch() throws {
    let mha = try MultiheadAttention(embedDim: 8, heads: 2)
    XCTAssertEqual(
      mha.namedParameters().map(\.0), ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
    let padding = load("mha_self.key_padding_mask").to(.bool)
    check("mha_self", mha, inputs: ["x"], tol: 1e-4) { x in
      [mha(x[0], x[0], x[0], keyPaddingMask: padding, isCausal: true).output]
    }
  }

  func testCrossAttentionWithOtherKeyAndValueWidthsMatchesPyTorch() throws {
    let mha = try MultiheadAttention(embedDim: 8, heads: 2, kdim: 6, vdim: 5)
    XCTAssertEqual(
      Set(mha.stateDict().keys),
      [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight",
        "out_proj.bias",
      ])
    let padding = load("mha_cross.key_padding_mask").to(.bool)
    let mask = load("mha_cross.attn_mask")
    check("mha_cross", mha, inputs: ["q", "k", "v"], tol: 1e-4) { x in
      [mha(x[0], x[1], x[2], keyPaddingMask: padding, attnMask: mask).output]
    }
  }

  func testAveragedAttentionWeightsMatchPyTorch() throws {
    let mha = try MultiheadAttention(embedDim: 12, heads: 3)
    let padding = load("mha_weights.key_padding_mask")
    let mask = load("mha_weights.attn_mask").to(.bool)
    check("mha_weights", mha, inputs: ["q", "memory"], tol: 1e-4) { x in
      let r = mha(x[0], x[1], x[1], keyPaddingMask: padding, attnMask: mask, needWeights: true)
      XCTAssertEqual(r.weights?.shape, [2, 4, 6])
      return [r.output, r.weights!]
    }
    // Without weights (the fused path) the output is the same.
    let q = load("mha_weights.q")
    let memory = load("mha_weights.memory")
    let fast = mha(q, memory, memory, keyPaddingMask: padding, attnMask: mask)
    XCTAssertNil(fast.weights)
    XCTAssertLessThanOrEqual(maxError(fast.output, load("mha_weights.output0")), 1e-5)
    // Per-head weights average to the same.
    let perHead = mha(
      q, memory, memory, keyPaddingMask: padding, attnMask: mask, needWeights: true, averageWeights: false)
    XCTAssertEqual(perHead.weights?.shape, [2, 3, 4, 6])
    XCTAssertLessThanOrEqual(
      maxError(perHead.weights!.mean(dim: 1), load("mha_weights.output1")), 1e-6)
  }

  func testSinusoidalTableMatchesPyTorchTutorial() {
    let pe = SinusoidalPositionalEncoding(dimension: 10, maxLength: 40)
    XCTAssertLessThanOrEqual(maxError(pe.pe, load("sinusoidal.pe")), 1e-5)
    XCTAssertEqual(Array(pe.stateDict().keys), ["pe"])
    XCTAssertTrue(pe.parameters().isEmpty)
    // With an offset, rows offset..<offset + T are added.
    let x = Tensor.randn([2, 3, 10], generator: Generator(seed: 3))
    let y = pe(x, offset: 5)
    let expected = x + load("sinusoidal.pe").slice(dim: 0, start: 5, end: 8)
    XCTAssertLessThanOrEqual(maxError(y, expected), 1e-5)
  }

  func testRotaryEmbeddingMatchesHuggingFaceLlama() throws {
    let rope = try RotaryEmbedding(headDim: 8)
    let positions = load("rope.positions")
    check("rope", rope, inputs: ["q", "k"], tol: 1e-5) { x in
      let r = rope(x[0], x[1], positions: positions)
      return [r.q, r.k]
    }
    // Partial rotary (first 4 of 8 features) at positions 7…11.
    let partial = try RotaryEmbedding(headDim: 8, rotaryDim: 4)
    check("rope_partial", partial, inputs: ["q"], tol: 1e-5) { x in [partial.apply(x[0], offset: 7)]
    }
  }

  func testGatedFeedForwardsMatchHuggingFace() {
    let swiglu = SwiGLU(8, hidden: 12, bias: true)
    check("swiglu", swiglu, inputs: ["x"], tol: 1e-5) { x in [swiglu(x[0])] }
    let geglu = GeGLU(8, hidden: 12)
    check("geglu", geglu, inputs: ["x"], tol: 1e-5) { x in [geglu(x[0])] }
  }

  func testAdafactorMatchesPyTorchStepForStep() {
    for (name, make) in [
      ("adafactor", { (ps: [Tensor]) in Adafactor(ps, lr: 0.05, weightDecay: 0.1) }),
      (
        "adafactor_eps",
        { (ps: [Tensor]) in
          Adafactor(
            ps, lr: 0.3, beta2Decay: -0.5, eps: (1e-3, 1e-2), d: 1.5, weightDecay: 0.02, maximize: true)
        }
      ),
    ] {
      let params = (0..<3).map { load("\(name).param\($0).initial").requiringGrad() }
      let optimizer = make(params)
      var worst = 0.0
      for step in 0..<5 {
        for (i, p) in params.enumerated() { p.grad = load("\(name).param\(i).grad\(step)") }
        optimizer.step()
        for (i, p) in params.enumerated() {
          worst = max(worst, maxError(p, load("\(name).param\(i).step\(step)")))
        }
      }
      // The factored moments and the vector variance as torch keeps them.
      let state = optimizer.stateDict()
      for (i, key) in [
        (0, "row_var"), (0, "col_var"), (1, "row_var"), (1, "col_var"), (2, "variance"),
      ] {
        worst = max(worst, maxError(state["\(i).\(key)"]!, load("\(name).param\(i).state.\(key)")))
      }
      XCTAssertEqual(state["2.step"]?.item(), load("\(name).param2.state.step").item())
      XCTAssertLessThanOrEqual(worst, 1e-5, "\(name): max error \(worst)")
      print("parity \(name): max abs error over 5 steps \(worst)")
    }
  }
}
