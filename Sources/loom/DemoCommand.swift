import ArgumentParser
import Foundation
import LoomCore

/// `loom demo`: trains a small two-layer network on a synthetic regression task and
/// prints the loss falling — a quick check that the engine works end to end.
struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo", abstract: "Train a small network for a few seconds and print its loss.")

  @Option(help: "Training steps.") var steps = 300
  @Option(help: "Random seed.") var seed: UInt64 = 0

  func validate() throws {
    guard steps > 0 else { throw ValidationError("--steps must be positive, got \(steps)") }
  }

  func run() throws {
    let gen = Generator(seed: seed)
    // Target: y = sin(3·x₀) + x₁², on 512 points in [-1, 1]².
    let x = Tensor.rand([512, 2], low: -1, high: 1, generator: gen)
    let y = ((x.select(dim: 1, index: 0) * 3).sin() + x.select(dim: 1, index: 1).square()).unsqueeze(1)
    let w1 = (Tensor.randn([64, 2], generator: gen) * 0.7).detach().requiringGrad()
    let b1 = Tensor.zeros([64]).requiringGrad()
    let w2 = (Tensor.randn([1, 64], generator: gen) * 0.12).detach().requiringGrad()
    let b2 = Tensor.zeros([1]).requiringGrad()
    let params = [w1, b1, w2, b2]
    let lr = 0.05
    print("loom demo: 2-64-1 tanh network, 512 samples, full-batch gradient descent (lr \(lr))")
    let start = Date()
    for step in 1...steps {
      let h = linear(x, weight: w1, bias: b1).tanh()
      let loss = (linear(h, weight: w2, bias: b2) - y).square().mean()
      for p in params { p.zeroGrad() }
      loss.backward()
      noGrad {
        for p in params { p.copyIn(p - p.grad! * lr * 10) }
      }
      if step == 1 || step % max(steps / 10, 1) == 0 {
        print(String(format: "step %4d  loss %.5f", step, loss.item()))
      }
    }
    print(String(format: "done in %.2f s", Date().timeIntervalSince(start)))
  }
}
