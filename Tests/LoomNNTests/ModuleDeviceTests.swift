import LoomCore
import LoomNN
import LoomOptim
import XCTest

/// Modules and optimizers on the emulated device give the CPU's numbers exactly.
final class ModuleDeviceTests: XCTestCase {
  /// A few training steps of a small MLP with `optimizer`, moved to `device` after construction.
  func train(on device: Device, _ makeOptimizer: ([Tensor]) -> Optimizer) -> [Float] {
    manualSeed(3)
    let model = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
    model.to(device: device)
    XCTAssertTrue(model.parameters().allSatisfy { $0.device == device })
    let optimizer = makeOptimizer(model.parameters())
    let x = Tensor.randn([5, 4], device: device)
    let y = Tensor([Int64(0), 1, 1, 0, 1], device: device)
    var losses: [Float] = []
    for _ in 0..<3 {
      let loss = crossEntropy(model(x), y)
      optimizer.zeroGrad()
      loss.backward()
      clipGradNorm(model.parameters(), maxNorm: 1)
      optimizer.step()
      losses.append(Float(loss.item()))
    }
    return losses + model.parameters().flatMap { $0.floats }
  }

  func testTrainingMatchesAcrossDevices() {
    let optimizers: [([Tensor]) -> Optimizer] = [
      { AdamW($0, lr: 1e-2, weightDecay: 0.1) },
      { SGD($0, lr: 0.1, momentum: 0.9, nesterov: true) },
      { Adafactor($0, lr: 1e-2) },
    ]
    for make in optimizers {
      let cpu = train(on: .cpu, make)
      XCTAssertEqual(cpu, train(on: .emulated, make))
      XCTAssertNotEqual(cpu[0], cpu[2])
    }
  }
}
