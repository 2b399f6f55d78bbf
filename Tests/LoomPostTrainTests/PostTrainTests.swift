import XCTest

@testable import LoomPostTrain

final class PostTrainTests: XCTestCase {
  func testIgnoreIndexMatchesTrl() {
    XCTAssertEqual(PostTrain.ignoreIndex, -100)
  }
}
