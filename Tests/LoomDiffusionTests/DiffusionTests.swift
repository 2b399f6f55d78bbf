import XCTest

@testable import LoomDiffusion

final class DiffusionTests: XCTestCase {
  func testDefaultTrainTimestepsMatchDiffusers() {
    XCTAssertEqual(Diffusion.defaultTrainTimesteps, 1000)
  }
}
