import Foundation
import XCTest

@testable import LoomDatasets

/// Float labels: regression and multi-label columns, and their metrics against sklearn / scipy.
final class FloatLabelTests: XCTestCase {
  func testMultiLabelMetricsMatchSklearn() throws {
    let references = [[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]]
    let predictions = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    let s = try Metrics.multiLabel(predictions: predictions, references: references)
    // sklearn: accuracy_score 0.4, f1_score micro 10/13, macro 0.5666… (label 3 never occurs: 0).
    XCTAssertEqual(s.exactMatch, 0.4, accuracy: 1e-12)
    XCTAssertEqual(s.microF1, 0.7692307692307693, accuracy: 1e-12)
    XCTAssertEqual(s.macroF1, 0.5666666666666667, accuracy: 1e-12)
    assertThrows(["row 1", "expected 4 labels"]) {
      try Metrics.multiLabel(
        predictions: [[1, 0, 0, 0], [1]], references: [[1, 0, 0, 0], [1, 0, 0, 0]])
    }
  }

  func testRegressionMetricsMatchScipy() throws {
    let a = [0.5, 1.25, 3.0, -0.75, 2.0]
    let b = [0.25, 1.5, 2.5, -1.0, 2.75]
    XCTAssertEqual(
      try Metrics.meanSquaredError(predictions: a, references: b), 0.2, accuracy: 1e-12)
    // scipy.stats.pearsonr
    XCTAssertEqual(
      try Metrics.pearson(predictions: a, references: b), 0.9491983537952411, accuracy: 1e-12)
    XCTAssertTrue(try Metrics.pearson(predictions: [1, 1, 1], references: [1, 2, 3]).isNaN)
  }

  func testFloatAndListColumns() throws {
    let dir = try tempDir(self)
    try write(
      "text,score,tags\na,0.5,x;y\nb,2,\nc,1.25,\"[\"\"y\"\", \"\"z\"\"]\"\n", dir + "/r.csv")
    let d = try Dataset.load([dir + "/r.csv"])
    XCTAssertTrue(try d.isFloatColumn("score"))
    XCTAssertFalse(try d.isListColumn("tags"))
    XCTAssertEqual(try d.doubles("score"), [0.5, 2, 1.25])
    XCTAssertEqual(try d.labelLists("tags", separator: ";"), [["x", "y"], [], ["y", "z"]])
    XCTAssertEqual(try d.labelLists("tags"), [["x;y"], [], ["y", "z"]])
    assertThrows(["column 'text' row 0", "expected a number", "regression"]) {
      try d.doubles("text")
    }
    try write("{\"t\": \"a\", \"l\": [\"x\", 3]}\n{\"t\": \"b\", \"l\": 1}\n", dir + "/m.jsonl")
    let j = try Dataset.load([dir + "/m.jsonl"])
    XCTAssertTrue(try j.isListColumn("l"))
    XCTAssertFalse(try j.isFloatColumn("l"))
    XCTAssertEqual(try j.labelLists("l"), [["x", "3"], ["1"]])
    let names = try ClassLabel(names: ["1", "3", "x"])
    XCTAssertEqual(try names.multiHot(["x", "3"]), [0, 1, 1])
    assertThrows(["unseen label 'q'"]) { try names.multiHot(["q"]) }
  }
}
