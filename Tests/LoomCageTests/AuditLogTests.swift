import Foundation
import XCTest

@testable import LoomCage

/// The audit log: SHA-256 of prompts, one JSON line per verdict with every field, appended across opens.
final class AuditLogTests: XCTestCase {
  func testSHA256KnownVectors() {
    XCTAssertEqual(AuditLog.sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(AuditLog.sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      AuditLog.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    XCTAssertEqual(
      AuditLog.sha256(String(repeating: "a", count: 1000)),
      "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
  }

  func testRecordsHaveEveryFieldAndAppend() throws {
    let path = NSTemporaryDirectory() + "loom-audit-\(UUID().uuidString).jsonl"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let cage = SafetyCage(output: [CageEntry(MarkerValidator(), policy: .reask), CageEntry(PIIValidator())])
    do {
      let log = try AuditLog(path: path)
      try log.record(cage.check("a BAD one", stage: .output), model: "m/x", prompt: "p", stage: .output, attempt: 1)
      try log.record(cage.check("fine", stage: .output), model: "m/x", prompt: "p", stage: .output, attempt: 2)
    }
    // Reopening appends.
    try AuditLog(path: path).record(
      SafetyCage(input: [CageEntry(MarkerValidator())]).check("ok", stage: .input), model: "m/x", prompt: "p",
      stage: .input, attempt: 0)
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 4, "the first check stops at the failing validator; the second runs both")
    XCTAssertTrue(lines[0].contains("\"model\":\"m/x\""), "slashes are not escaped: \(lines[0])")
    let records = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    for r in records {
      XCTAssertEqual(
        Set(r.keys).subtracting(["error"]),
        ["time", "model", "prompt_sha256", "stage", "attempt", "validator", "verdict", "policy", "findings", "released"])
      XCTAssertEqual(r["prompt_sha256"] as? String, AuditLog.sha256("p"))
      XCTAssertNotNil(ISO8601DateFormatter.withFractions.date(from: r["time"] as! String), "\(r["time"]!)")
    }
    XCTAssertEqual(records.map { $0["verdict"] as! String }, ["fail", "pass", "pass", "pass"])
    XCTAssertEqual(records.map { $0["released"] as! Bool }, [false, true, true, true])
    XCTAssertEqual(records.map { $0["attempt"] as! Int }, [1, 2, 2, 0])
    XCTAssertEqual(records.map { $0["validator"] as! String }, ["marker", "marker", "pii", "marker"])
    XCTAssertEqual(((records[0]["findings"] as! [[String: Any]])[0])["ruleId"] as? String, "test.marker")
    XCTAssertEqual(records[0]["policy"] as? String, "reask")
  }

  func testAnUnwritableLogIsAClearError() {
    XCTAssertThrowsError(try AuditLog(path: "/nonexistent-dir/audit.jsonl")) {
      XCTAssertTrue("\($0)".contains("cannot be created"), "\($0)")
    }
  }
}

extension ISO8601DateFormatter {
  static var withFractions: ISO8601DateFormatter {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f
  }
}
