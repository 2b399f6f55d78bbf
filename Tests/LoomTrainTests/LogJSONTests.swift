import Foundation
import XCTest

@testable import LoomTrain

final class LogJSONTests: XCTestCase {
  /// trl's metric names carry slashes (`rewards/chosen`); a log line must keep them as written so
  /// `grep rewards/chosen metrics.jsonl` finds them, and non-finite values must read back as NaN.
  func testLineKeepsSlashesAndWritesNonFiniteAsNull() throws {
    let data = try LogJSON.line(["rewards/chosen": 1.5, "loss": .nan])
    let text = String(decoding: data, as: UTF8.self)
    XCTAssertEqual(text, "{\"loss\":null,\"rewards/chosen\":1.5}\n")
  }
}
