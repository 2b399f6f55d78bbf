import Foundation
import XCTest

@testable import LoomCage

final class FindingTests: XCTestCase {
  func testSeveritiesOrderFromNoteToCritical() {
    XCTAssertLessThan(Severity.note, .low)
    XCTAssertLessThan(Severity.medium, .high)
    XCTAssertEqual(Severity.allCases.max(), .critical)
  }

  func testFindingRoundTripsThroughJSON() throws {
    let finding = Finding(
      ruleId: "c.dangerous-function.gets", cwe: [242, 120], severity: .high,
      location: SourceLocation(line: 3, column: 5, utf8Range: 20..<24), message: "gets cannot bound its input",
      fix: Fix(utf8Range: 20..<24, replacement: "fgets", description: "use fgets with the buffer's size"))
    let data = try JSONEncoder().encode(finding)
    XCTAssertEqual(try JSONDecoder().decode(Finding.self, from: data), finding)
  }
}
