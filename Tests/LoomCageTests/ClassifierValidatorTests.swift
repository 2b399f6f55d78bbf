import Foundation
import XCTest

@testable import LoomCage

/// The model-based validator on a tiny RoBERTa (LoomModelsTests' fixture, loaded for sequence classification: a
/// fresh two-label head, so the scores are whatever they are — the thresholds 0 and 1 bracket them).
final class ClassifierValidatorTests: XCTestCase {
  static let roberta = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("LoomModelsTests/Fixtures/encoder-cli/roberta-tiny").path

  func testThresholdDecidesAndLabelsAreChecked() throws {
    guard FileManager.default.fileExists(atPath: Self.roberta) else { throw XCTSkip("no fixture at \(Self.roberta)") }
    let always = try ClassifierValidator(directory: Self.roberta, label: "LABEL_1", threshold: 0)
    let score = try always.score("a short review")
    XCTAssertGreaterThan(score, 0)
    XCTAssertLessThan(score, 1)
    let findings = try always.validate("a short review")
    XCTAssertEqual(findings.map(\.ruleId), ["model.classifier.flagged"])
    XCTAssertTrue(findings[0].message.contains("label 'LABEL_1' scores " + String(format: "%.4f", score)), findings[0].message)
    XCTAssertEqual(try ClassifierValidator(directory: Self.roberta, label: "LABEL_1", threshold: 1).validate("a short review").count, 0)
    // The score is the pipeline's softmax for the label: the same text scores the same.
    XCTAssertEqual(try always.score("a short review"), score)
    XCTAssertThrowsError(try ClassifierValidator(directory: Self.roberta, label: "toxic")) {
      XCTAssertTrue("\($0)".contains("has no label 'toxic'; its labels: LABEL_0, LABEL_1"), "\($0)")
    }
    XCTAssertThrowsError(try ClassifierValidator(directory: Self.roberta, label: "LABEL_1", threshold: 1.5))
  }

  func testTextTheModelCannotReadFailsClosed() throws {
    guard FileManager.default.fileExists(atPath: Self.roberta) else { throw XCTSkip("no fixture at \(Self.roberta)") }
    let v = try ClassifierValidator(directory: Self.roberta, label: "LABEL_1", threshold: 1)
    let cage = SafetyCage(output: [CageEntry(v, policy: .noop)])
    let long = String(repeating: "word ", count: 300)
    let check = cage.check(long, stage: .output)
    XCTAssertEqual(check.decision, .refuse)
    XCTAssertEqual(check.verdicts[0].result, .error)
    XCTAssertEqual(cage.check("short", stage: .output).decision, .release)
  }
}
