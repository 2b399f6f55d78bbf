import XCTest

@testable import LoomDatasets

/// Values from scripts/fixtures/make_metrics_fixtures.py (sklearn, seqeval, SQuAD v1.1).
final class MetricsParityTests: XCTestCase {
  func testClassificationMatchesSklearn() throws {
    let cases = try XCTUnwrap(
      (try fixture("metrics.json") as! [String: Any])["classification"] as? [[String: Any]])
    XCTAssertEqual(cases.count, 12)
    for c in cases {
      let p = c["predictions"] as! [Int], r = c["references"] as! [Int]
      XCTAssertEqual(
        try Metrics.accuracy(predictions: p, references: r), c["accuracy"] as! Double,
        accuracy: 1e-12)
      var avgs: [(String, Metrics.Average)] = [("macro", .macro), ("micro", .micro), ("weighted", .weighted)]
      if c["binary"] != nil { avgs.append(("binary", .binary())) }
      for (name, avg) in avgs {
        let want = c[name] as! [Double]
        let got = try Metrics.precisionRecallF1(predictions: p, references: r, average: avg)
        XCTAssertEqual(got.precision, want[0], accuracy: 1e-12, name)
        XCTAssertEqual(got.recall, want[1], accuracy: 1e-12, name)
        XCTAssertEqual(got.f1, want[2], accuracy: 1e-12, name)
      }
    }
  }

  func testBinaryAverageRejectsThreeClasses() {
    assertThrows(["binary", "macro"]) {
      try Metrics.f1(predictions: [0, 1, 2], references: [0, 1, 1], average: .binary())
    }
    assertThrows(["3 predictions but 2 references"]) {
      try Metrics.accuracy(predictions: [0, 1, 2], references: [0, 1])
    }
  }

  func testSeqevalMatches() throws {
    let cases = try XCTUnwrap(
      (try fixture("metrics.json") as! [String: Any])["seqeval"] as? [[String: Any]])
    for c in cases {
      let p = c["predictions"] as! [[String]], r = c["references"] as! [[String]]
      let s = try Seqeval.compute(predictions: p, references: r)
      XCTAssertEqual(s.precision, c["precision"] as! Double, accuracy: 1e-12)
      XCTAssertEqual(s.recall, c["recall"] as! Double, accuracy: 1e-12)
      XCTAssertEqual(s.f1, c["f1"] as! Double, accuracy: 1e-12)
      XCTAssertEqual(s.accuracy, c["accuracy"] as! Double, accuracy: 1e-12)
      let want = (c["entities"] as! [[Any]]).map {
        Seqeval.Entity(type: $0[0] as! String, start: $0[1] as! Int, end: $0[2] as! Int)
      }
      XCTAssertEqual(Seqeval.entities(r), want)
    }
  }

  func testSeqevalSmallCases() {
    // IOB1: I- after O starts an entity; a type change splits one.
    XCTAssertEqual(
      Seqeval.entities(flat: ["I-PER", "I-PER", "O", "B-LOC", "I-ORG", "I-ORG"]),
      [
        .init(type: "PER", start: 0, end: 1), .init(type: "LOC", start: 3, end: 3),
        .init(type: "ORG", start: 4, end: 5),
      ])
  }

  func testSeqevalFromIdsDropsIgnoredPositions() throws {
    let names = ["O", "B-PER", "I-PER"]
    let s = try Seqeval.compute(
      predictionIds: [[0, 1, 2, 2, 0]], labelIds: [[-100, 1, 2, -100, 0]], names: names)
    XCTAssertEqual(s.f1, 1)
    let t = try Seqeval.compute(predictionIds: [[0, 1, 0]], labelIds: [[-100, 1, 2]], names: names)
    XCTAssertEqual(t.precision, 0)
    XCTAssertEqual(t.accuracy, 0.5)
  }

  func testSQuADMatchesOfficialScript() throws {
    let s = try XCTUnwrap((try fixture("metrics.json") as! [String: Any])["squad"] as? [String: Any])
    let preds = s["predictions"] as! [String], refs = s["references"] as! [[String]]
    XCTAssertEqual(preds.map(SQuADMetric.normalize), s["normalized"] as! [String])
    for (i, (p, r)) in zip(preds, refs).enumerated() {
      XCTAssertEqual(r.map { SQuADMetric.f1(p, $0) }.max()!, (s["per_f1"] as! [Double])[i], accuracy: 1e-12)
    }
    let got = try SQuADMetric.compute(predictions: preds, references: refs)
    XCTAssertEqual(got.exactMatch, s["exact_match"] as! Double, accuracy: 1e-9)
    XCTAssertEqual(got.f1, s["f1"] as! Double, accuracy: 1e-9)
    XCTAssertEqual(SQuADMetric.normalize("  The  Denver, Broncos!"), "denver broncos")
  }
}
