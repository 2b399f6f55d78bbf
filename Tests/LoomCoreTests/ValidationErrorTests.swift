import LoomCore
import XCTest

/// Shape errors name the op and both shapes.
final class ValidationErrorTests: XCTestCase {
  func testBroadcastErrorNamesOpAndShapes() {
    XCTAssertThrowsError(try Shape.broadcast([2, 3], [4, 3], op: "add")) { error in
      XCTAssertEqual("\(error)", "add: shapes [2, 3] and [4, 3] cannot be broadcast (dimension 0: 2 vs 4)")
    }
    XCTAssertEqual(try Shape.broadcast([5, 1, 3], [4, 1], op: "mul"), [5, 4, 3])
  }

  func testReshapeErrors() {
    XCTAssertThrowsError(try Shape.resolve([4, -1], count: 10, from: [2, 5])) { error in
      XCTAssertTrue("\(error)".contains("[2, 5] (10 elements) cannot be viewed as [4, -1]"))
    }
    XCTAssertThrowsError(try Shape.resolve([-1, -1], count: 10, from: [10]))
    XCTAssertEqual(try Shape.resolve([5, -1], count: 10, from: [10]), [5, 2])
  }

  func testDimensionOutOfRange() {
    XCTAssertThrowsError(try Shape.normalize(dim: 3, rank: 2, op: "sum")) { error in
      XCTAssertEqual("\(error)", "sum: dimension 3 is out of range for a tensor of rank 2")
    }
    XCTAssertEqual(try Shape.normalize(dim: -1, rank: 3, op: "sum"), 2)
  }
}
