import Foundation
import LoomCore
import LoomIO
import LoomNN
import XCTest

/// MixtureOfExperts against transformers' SwitchTransformersSparseMLP and its two router losses
/// (fixture from scripts/fixtures/make_moe_fixtures.py: top-1, capacity 2 with overflowing
/// tokens, jitter off), finite-difference gradients for top-1 and top-2, and bad settings.
final class MixtureOfExpertsTests: XCTestCase {
  static let file: SafeTensorsFile = {
    let url = Bundle.module.url(
      forResource: "moe", withExtension: "safetensors", subdirectory: "Fixtures")!
    return try! SafeTensorsFile(path: url.path)
  }()

  func load(_ key: String) -> Tensor { try! Self.file.tensor(key) }

  func maxError(_ a: Tensor, _ b: Tensor, _ what: String) -> Double {
    XCTAssertEqual(a.shape, b.shape, what)
    guard a.shape == b.shape else { return .infinity }
    return zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
  }

  func switchLayer(capacity: ExpertCapacity = .tokens(2)) throws -> MixtureOfExperts {
    try MixtureOfExperts(hidden: 8, numExperts: 4, topK: 1, capacity: capacity) { _ in
      DenseActDense(8, hidden: 16, activation: .relu)
    }
  }

  func testSwitchSparseMLPAndRouterLossesMatchTransformers() throws {
    let moe = try switchLayer()
    var state: [String: Tensor] = [:]
    for key in Self.file.names where key.hasPrefix("state.") {
      state[String(key.dropFirst(6))] = load(key)
    }
    try moe.loadStateDict(state)
    XCTAssertEqual(
      moe.namedParameters().map(\.0).sorted(),
      [
        "experts.expert_0.wi.weight", "experts.expert_0.wo.weight", "experts.expert_1.wi.weight",
        "experts.expert_1.wo.weight", "experts.expert_2.wi.weight", "experts.expert_2.wo.weight",
        "experts.expert_3.wi.weight", "experts.expert_3.wo.weight", "router.classifier.weight",
      ])
    moe.train()
    let x = load("input").requiringGrad()
    let y = moe(x)
    let routing = try XCTUnwrap(moe.lastRouting)
    var errors: [String: Double] = [
      "output": maxError(y, load("output"), "output"),
      "router_logits": maxError(routing.routerLogits, load("router_logits"), "router_logits"),
    ]
    // The fixture's capacity drops tokens: the dispatch counts and the dropped rows agree.
    let dispatch = load("dispatch")  // [2, 8, 4] one-hot after capacity
    XCTAssertEqual(routing.tokensPerExpert, dispatch.sum(dims: [0, 1]).int64s.map(Int.init))
    let dropped = dispatch.sum(dim: -1).reshape([-1]).int64s.enumerated().filter { $0.element == 0 }
      .map(\.offset)
    XCTAssertFalse(dropped.isEmpty)
    let rows = y.detach().reshape([16, 8])
    for t in dropped { XCTAssertEqual(rows[t].abs().sum().item(), 0, "overflowed token \(t)") }
    let (z, aux) = try XCTUnwrap(RouterLosses.losses([routing]))
    errors["z_loss"] = abs(z.item() - load("z_loss").item())
    errors["aux_loss"] = abs(aux.item() - load("aux_loss").item())
    ((y * load("probe")).sum() + z + aux).backward()
    errors["grad.input"] = maxError(x.grad!, load("grad.input"), "grad.input")
    for (name, p) in moe.namedParameters() {
      errors["grad." + name] = maxError(try XCTUnwrap(p.grad), load("grad." + name), name)
    }
    for (what, e) in errors { XCTAssertLessThanOrEqual(e, 1e-4, what) }
    print("MoE parity: worst \(errors.max { $0.value < $1.value }!)")
    // Real values, so the comparison cannot pass on zeros.
    XCTAssertGreaterThan(load("grad.router.classifier.weight").abs().max().item(), 1e-3)
  }

  /// Gradients (float64) through the expert outputs, the router probability that scales them,
  /// both losses and the capacity drop, for top-1 (Switch) and top-2 (renormalised).
  func testFiniteDifferenceGradients() throws {
    for (k, capacity) in [(1, ExpertCapacity.tokens(1)), (2, .factor(0.75))] {
      let gen = Generator(seed: UInt64(10 + k))
      let moe = try MixtureOfExperts(
        hidden: 4, numExperts: 3, topK: k, capacity: capacity, generator: gen
      ) { _ in
        DenseActDense(4, hidden: 6, activation: .gelu, generator: gen)
      }
      _ = try moe.to(dtype: .float64)
      let x = Tensor.randn([2, 5, 4], dtype: .float64, generator: gen).requiringGrad()
      let params = moe.parameters()
      let result = GradCheck.check([x] + params) { _ in
        let y = moe(x)
        let (z, aux) = RouterLosses.losses([moe.lastRouting!])!
        return Tensor.cat([y.reshape([-1]), z.reshape([1]), aux.reshape([1])])
      }
      XCTAssertTrue(result.passed, "top-\(k): \(result)")
      // The capacity dropped some tokens (so the check covers the overflow path).
      XCTAssertLessThan(moe.lastRouting!.tokensPerExpert.reduce(0, +), 10 * k, "top-\(k)")
      XCTAssertNotNil(params.first { $0 === moe.router.classifier.weight })
    }
  }

  /// Top-2 equals the dense reference: each token's two experts weighted by their renormalised
  /// probabilities.
  func testTopTwoMatchesDenseReference() throws {
    let gen = Generator(seed: 3)
    let moe = try MixtureOfExperts(hidden: 6, numExperts: 4, topK: 2, generator: gen) { _ in
      DenseActDense(6, hidden: 8, generator: gen)
    }
    let x = Tensor.randn([3, 6], generator: gen)
    let y = moe(x)
    let probs = moe.router(x).softmax(dim: -1).toArray(Double.self)
    var expected = [Double]()
    for t in 0..<3 {
      let p = Array(probs[t * 4..<(t + 1) * 4])
      let order = p.indices.sorted { p[$0] > p[$1] }.prefix(2)
      let norm = order.map { p[$0] }.reduce(0, +)
      var row = [Double](repeating: 0, count: 6)
      for e in order {
        let out = moe.experts["expert_\(e)"]!(x[t].reshape([1, 6])).toArray(Double.self)
        for j in 0..<6 { row[j] += p[e] / norm * out[j] }
      }
      expected += row
    }
    XCTAssertEqual(moe.lastRouting!.tokensPerExpert.reduce(0, +), 6)
    for (a, b) in zip(y.toArray(Double.self), expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
  }

  func testJitterOnlyInTrainingAndUsageCounts() throws {
    let moe = try MixtureOfExperts(hidden: 4, numExperts: 2, jitterNoise: 0.5) { _ in
      DenseActDense(4, hidden: 4)
    }
    let x = Tensor.randn([1, 8, 4])
    moe.eval()
    XCTAssertEqual(moe.router(x).toArray(Float.self), moe.router(x).toArray(Float.self))
    moe.train()
    XCTAssertNotEqual(moe.router(x).toArray(Float.self), moe.router(x).toArray(Float.self))
    _ = moe(x)
    XCTAssertEqual(moe.usage.reduce(0, +), 8)
    moe.resetUsage()
    XCTAssertEqual(moe.usage, [0, 0])
  }

  func testBadSettingsAreClearErrors() {
    func message(_ f: () throws -> Void) -> String {
      do { try f() } catch { return "\(error)" }
      return "no error"
    }
    let make = { (e: Int, k: Int, c: ExpertCapacity) in
      _ = try MixtureOfExperts(hidden: 4, numExperts: e, topK: k, capacity: c) { _ in
        DenseActDense(4, hidden: 4)
      }
    }
    XCTAssertEqual(
      message { try make(4, 1, .tokens(0)) },
      "mixture of experts: expert_capacity must be >= 1 token, got 0 (no token could reach an expert)"
    )
    XCTAssertEqual(
      message { try make(0, 1, .unlimited) }, "mixture of experts: num_experts must be >= 1, got 0")
    XCTAssertEqual(
      message { try make(2, 3, .unlimited) },
      "mixture of experts: top-k must be in 1...num_experts (2), got 3")
    XCTAssertEqual(
      message { try make(2, 1, .factor(0)) },
      "mixture of experts: the capacity factor must be a positive number, got 0.0")
  }
}
