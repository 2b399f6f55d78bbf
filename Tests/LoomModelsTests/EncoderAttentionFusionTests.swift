import Foundation
import LoomCore
import LoomModels
import LoomNN
import XCTest

/// With `EncoderAttention.fuseProjections` q/k/v run as one GEMM (`canFuse`): the hidden states
/// must be HF's either way, and a replaced projection (an adapter) or a forward hook must still
/// see its own forward.
final class EncoderAttentionFusionTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
    EncoderAttention.fuseProjections = true
  }
  override func tearDown() {
    EncoderAttention.fuseProjections = false
    super.tearDown()
  }

  /// A projection that counts its calls (what a LoRA layer looks like to the attention).
  final class CountingLinear: Linear {
    var calls = 0
    override func forward(_ x: Tensor) -> Tensor {
      calls += 1
      return super.forward(x)
    }
  }

  func testFusedInferenceMatchesTransformers() throws {
    let f = try EncoderFixture("bert")
    let bert = try XCTUnwrap(try AutoModel.from(directory: f.directory) as? BertModel)
    let want = try f.t("model.last_hidden_state")
    let fused = try noGrad { try bert.forward(try f.inputs()).lastHiddenState! }
    EncoderAttention.fuseProjections = false
    let separate = try noGrad { try bert.forward(try f.inputs()).lastHiddenState! }
    EncoderFixture.assertClose(fused, want, 1e-4, "fused")
    EncoderFixture.assertClose(separate, want, 1e-4, "separate")
  }

  func testReplacedProjectionAndHooksStillRun() throws {
    let f = try EncoderFixture("bert")
    let bert = try XCTUnwrap(try AutoModel.from(directory: f.directory) as? BertModel)
    let want = try noGrad { try bert.forward(try f.inputs()).lastHiddenState! }
    let path = "encoder.layer.0.attention.self.query"
    let old = try XCTUnwrap(bert.module(at: path) as? Linear)
    let counting = CountingLinear(weight: old.weight, bias: old.bias)
    try bert.replaceModule(at: path, with: counting)
    let got = try noGrad { try bert.forward(try f.inputs()).lastHiddenState! }
    XCTAssertEqual(counting.calls, 1, "the replaced query projection was bypassed")
    EncoderFixture.assertClose(got, want, 1e-5, "replaced")

    try bert.replaceModule(at: path, with: old)
    var seen = 0
    let handle = ForwardHooks.registerGlobal { module, _, _ in
      if module === old { seen += 1 }
    }
    defer { handle.remove() }
    _ = try noGrad { try bert.forward(try f.inputs()) }
    XCTAssertEqual(seen, 1, "a forward hook on the query projection did not run")
  }
}
