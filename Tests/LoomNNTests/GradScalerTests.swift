import LoomCore
import LoomOptim
import XCTest

/// torch.amp.GradScaler semantics: overflow skips the step and backs off, clean steps grow the scale.
final class GradScalerTests: XCTestCase {
  func testOverflowSkipsAndBacksOffThenGrows() throws {
    let p = Tensor([Float(1), 2], shape: [2]).requiringGrad()
    let opt = SGD([ParamGroup(params: [p], lr: 0.1, weightDecay: 0)])
    let scaler = GradScaler(initScale: 1024, growthInterval: 3)

    // A clean step: gradients come back unscaled and the step runs.
    scaler.scaled((p * p).sum()).backward()
    XCTAssertEqual(p.grad!.floats, [2048, 4096])
    XCTAssertTrue(scaler.step(opt))
    XCTAssertEqual(p.floats[0], 0.8, accuracy: 1e-6)
    XCTAssertEqual(p.floats[1], 1.6, accuracy: 1e-6)
    scaler.update()
    XCTAssertEqual(scaler.scale, 1024)
    XCTAssertEqual(scaler.growthTracker, 1)

    // An overflow: parameters untouched, step counted as skipped, scale halved, tracker reset.
    p.grad = Tensor([Float.infinity, 1], shape: [2])
    XCTAssertFalse(scaler.step(opt))
    XCTAssertEqual(p.floats[0], 0.8, accuracy: 1e-6)
    XCTAssertEqual(p.floats[1], 1.6, accuracy: 1e-6)
    scaler.update()
    XCTAssertEqual(scaler.scale, 512)
    XCTAssertEqual(scaler.growthTracker, 0)
    XCTAssertEqual(scaler.skippedSteps, 1)
    p.grad = Tensor([Float.nan, 1], shape: [2])
    XCTAssertFalse(scaler.step(opt))
    scaler.update()
    XCTAssertEqual(scaler.scale, 256)
    XCTAssertEqual(scaler.skippedSteps, 2)

    // Three clean steps in a row double the scale.
    for _ in 0..<3 {
      p.grad = Tensor([Float(256), 256], shape: [2])
      XCTAssertTrue(scaler.step(opt))
      scaler.update()
    }
    XCTAssertEqual(scaler.scale, 512)
    XCTAssertEqual(scaler.growthTracker, 0)
    XCTAssertEqual(p.floats[0], 0.8 - 0.3, accuracy: 1e-6)

    let restored = GradScaler()
    try restored.loadStateDict(scaler.stateDict())
    XCTAssertEqual(restored.scale, 512)
    XCTAssertThrowsError(try restored.loadStateDict(["scale": 0]))
  }
}
