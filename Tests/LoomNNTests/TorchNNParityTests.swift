import Foundation
import LoomCore
import LoomNN
import LoomOptim
import XCTest

/// Losses and five steps of every optimizer and schedule against PyTorch
/// (fixtures from scripts/fixtures/make_nn_fixtures.py).
final class TorchNNParityTests: XCTestCase {
  struct LossCase: Decodable { let value: Double; let grad: [Double] }
  struct OptCase: Decodable { let w: [Double]; let b: [Double]; let losses: [Double]; let lrs: [Double] }
  struct File: Decodable {
    let inputs: [String: [Double]]
    let losses: [String: LossCase]
    let optimizers: [String: OptCase]
    let opt_start: [String: [Double]]
  }

  static let fixture: File = {
    let url = Bundle.module.url(forResource: "torch_nn", withExtension: "json", subdirectory: "Fixtures")!
    return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url))
  }()

  func t(_ name: String, _ shape: [Int]) -> Tensor {
    Tensor(Self.fixture.inputs[name]!.map { Float($0) }, shape: shape)
  }

  func assertClose(_ a: [Double], _ b: [Double], _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max error \(worst)", file: file, line: line)
  }

  func testLossesMatchPyTorch() {
    let x = t("x", [4, 5]), y = t("y", [4, 5]), p = t("p", [4, 5]), t01 = t("t01", [4, 5])
    let cases: [(String, Tensor, (Tensor) -> Tensor)] = [
      ("mse", x, { Loss.mse($0, y) }),
      ("l1_sum", x, { Loss.l1($0, y, reduction: .sum) }),
      ("smooth_l1", x, { Loss.smoothL1($0, y, beta: 0.5) }),
      ("bce", p, { Loss.bce($0, t01) }),
      ("bce_logits", x, { Loss.bceWithLogits($0, t01) }),
      ("bce_logits_pos_weight", x, { Loss.bceWithLogits($0, t01, posWeight: Tensor.full([5], 2.5)) }),
      ("nll", x, { Loss.nll($0.logSoftmax(dim: 1), Tensor([Int64(1), 4, -100, 0])) }),
      ("kl_batchmean", x, { Loss.klDiv($0.logSoftmax(dim: 1), y.softmax(dim: 1), reduction: "batchmean") }),
      ("kl_log_target", x, { Loss.klDiv($0.logSoftmax(dim: 1), y.logSoftmax(dim: 1), logTarget: true, reduction: "sum") }),
      ("cosine_embedding", x, { Loss.cosineEmbedding($0, y, Tensor([Float(1), -1, 1, -1]), margin: 0.1) }),
    ]
    for (name, input, fn) in cases {
      let leaf = input.detach().requiringGrad()
      let value = fn(leaf)
      value.backward()
      let expected = Self.fixture.losses[name]!
      assertClose([value.item()], [expected.value], 1e-5, "\(name) value")
      assertClose(leaf.grad!.toArray(Double.self), expected.grad, 1e-5, "\(name) grad")
    }
  }

  func runOptimizer(_ name: String, make: ([Tensor]) -> any Optimizer, schedule: LRSchedule? = nil) {
    let s = Self.fixture.opt_start
    let w = Tensor(s["w"]!.map { Float($0) }, shape: [3, 4]).requiringGrad()
    let b = Tensor(s["b"]!.map { Float($0) }, shape: [3]).requiringGrad()
    let a = Tensor(s["a"]!.map { Float($0) }, shape: [4, 6])
    let target = Tensor(s["target"]!.map { Float($0) }, shape: [3, 6])
    let opt = make([w, b])
    let scheduler = schedule.map { LRScheduler(opt, schedule: $0) }
    var losses: [Double] = [], lrs: [Double] = []
    for _ in 0..<5 {
      opt.zeroGrad()
      let loss = (w.matmul(a) + b.unsqueeze(1) - target).square().sum() + w.pow(3).sum() / 10
      loss.backward()
      lrs.append(opt.paramGroups[0].lr)
      opt.step()
      scheduler?.step()
      losses.append(loss.item())
    }
    let e = Self.fixture.optimizers[name]!
    assertClose(lrs, e.lrs, 1e-9, "\(name) learning rates")
    assertClose(losses, e.losses, 1e-5, "\(name) losses")
    assertClose(w.toArray(Double.self), e.w, 1e-5, "\(name) weight")
    assertClose(b.toArray(Double.self), e.b, 1e-5, "\(name) bias")
  }

  func testOptimizersAndSchedulesMatchPyTorch() {
    runOptimizer("sgd") { SGD($0, lr: 0.01) }
    runOptimizer("sgd_momentum_dampening_wd") { SGD($0, lr: 0.01, momentum: 0.9, dampening: 0.1, weightDecay: 0.05) }
    runOptimizer("sgd_nesterov") { SGD($0, lr: 0.01, momentum: 0.9, weightDecay: 0.01, nesterov: true) }
    runOptimizer("adam_wd") { Adam($0, lr: 0.05, weightDecay: 0.1) }
    runOptimizer("adamw") { AdamW($0, lr: 0.05, betas: (0.8, 0.99), eps: 1e-6, weightDecay: 0.1) }
    runOptimizer("adamw_linear", make: { AdamW($0, lr: 0.05) }, schedule: .linear(warmupSteps: 2, totalSteps: 8))
    runOptimizer("adamw_cosine", make: { AdamW($0, lr: 0.05) }, schedule: .cosine(warmupSteps: 1, totalSteps: 6))
    runOptimizer("adamw_constant_warmup", make: { AdamW($0, lr: 0.05) }, schedule: .constantWithWarmup(warmupSteps: 3))
    runOptimizer("sgd_step_lr", make: { SGD($0, lr: 0.02, momentum: 0.5) }, schedule: .step(stepSize: 2, gamma: 0.5))
  }
}
