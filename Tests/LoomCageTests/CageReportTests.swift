import Foundation
import XCTest

@testable import LoomCage

/// SARIF 2.1.0 field by field, the JSON and text reports, and reading bad input (binary, non-UTF-8, 100 MB).
final class CageReportTests: XCTestCase {
  func artifacts() throws -> [CheckedArtifact] {
    let text = "x = 1\nkey AKIAIOSFODNN7EXAMPLE é\nmail a@b.org\n"
    let cage = SafetyCage(output: [CageEntry(SecretsValidator()), CageEntry(PIIValidator())])
    return [
      CheckedArtifact(uri: "dir/my file.txt", text: text, verdicts: cage.inspect(text)),
      CheckedArtifact(uri: "clean.txt", text: "nothing", verdicts: cage.inspect("nothing")),
    ]
  }

  func testSARIFShapeFieldByField() throws {
    let sarifText = try SARIFReport.render(try artifacts(), rules: SecretsValidator.allRules + PIIValidator.allRules)
    let sarif = try JSONSerialization.jsonObject(with: Data(sarifText.utf8)) as! [String: Any]
    XCTAssertEqual(sarif["version"] as? String, "2.1.0")
    XCTAssertEqual(
      sarif["$schema"] as? String,
      "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    XCTAssertFalse(sarifText.contains("\\/"), "slashes are not escaped")
    let runs = sarif["runs"] as! [[String: Any]]
    XCTAssertEqual(runs.count, 1)
    let driver = (runs[0]["tool"] as! [String: Any])["driver"] as! [String: Any]
    XCTAssertEqual(driver["name"] as? String, "loom-cage")
    let rules = driver["rules"] as! [[String: Any]]
    XCTAssertEqual(rules.count, SecretsValidator.allRules.count + PIIValidator.allRules.count)
    let aws = rules.first { $0["id"] as? String == "text.secret.aws-access-key" }!
    XCTAssertEqual((aws["shortDescription"] as! [String: Any])["text"] as? String, "AWS access key id")
    XCTAssertEqual((aws["defaultConfiguration"] as! [String: Any])["level"] as? String, "error")
    let props = aws["properties"] as! [String: Any]
    XCTAssertEqual(props["cwe"] as? [String], ["CWE-798"])
    XCTAssertEqual(props["tags"] as? [String], ["security", "external/cwe/cwe-798"])
    let results = runs[0]["results"] as! [[String: Any]]
    XCTAssertEqual(results.map { $0["ruleId"] as! String }, ["text.secret.aws-access-key", "text.pii.email"])
    for r in results {
      let index = r["ruleIndex"] as! Int
      XCTAssertEqual(rules[index]["id"] as? String, r["ruleId"] as? String, "ruleIndex points at the rule")
    }
    let first = results[0]
    XCTAssertEqual(first["level"] as? String, "error")
    XCTAssertEqual((first["message"] as! [String: Any])["text"] as? String, "AWS access key id in the text")
    let physical = ((first["locations"] as! [[String: Any]])[0])["physicalLocation"] as! [String: Any]
    XCTAssertEqual((physical["artifactLocation"] as! [String: Any])["uri"] as? String, "dir/my%20file.txt")
    let region = physical["region"] as! [String: Any]
    XCTAssertEqual(region["startLine"] as? Int, 2)
    XCTAssertEqual(region["startColumn"] as? Int, 5)
    XCTAssertEqual(region["endLine"] as? Int, 2)
    XCTAssertEqual(region["endColumn"] as? Int, 25)
    XCTAssertEqual(region["byteOffset"] as? Int, 10)
    XCTAssertEqual(region["byteLength"] as? Int, 20)
    let fix = (first["fixes"] as! [[String: Any]])[0]
    XCTAssertEqual((fix["description"] as! [String: Any])["text"] as? String, "mask the secret")
    let change = (fix["artifactChanges"] as! [[String: Any]])[0]
    XCTAssertEqual((change["artifactLocation"] as! [String: Any])["uri"] as? String, "dir/my%20file.txt")
    let replacement = (change["replacements"] as! [[String: Any]])[0]
    XCTAssertEqual(replacement["deletedRegion"] as? [String: Int], ["byteOffset": 10, "byteLength": 20])
    XCTAssertEqual((replacement["insertedContent"] as! [String: Any])["text"] as? String, "[REDACTED]")
    XCTAssertEqual((results[1]["level"] as? String), "warning", "medium severity is a warning")
  }

  func testSARIFColumnsAreUTF16() throws {
    // "é" is 2 UTF-8 bytes and 1 UTF-16 unit: the e-mail after it starts at byte column 4, UTF-16 column 3.
    let text = "é: a@b.org"
    let a = CheckedArtifact(uri: "u", text: text, verdicts: SafetyCage(output: [CageEntry(PIIValidator())]).inspect(text))
    XCTAssertEqual(a.findings[0].location?.column, 5)
    let sarif = SARIFReport.object([a], rules: [])
    let result = ((sarif["runs"] as! [[String: Any]])[0]["results"] as! [[String: Any]])[0]
    let region = (((result["locations"] as! [[String: Any]])[0])["physicalLocation"] as! [String: Any])["region"]
    XCTAssertEqual((region as! [String: Any])["startColumn"] as? Int, 4)
    XCTAssertEqual(SARIFReport.level(.note), "note")
    XCTAssertEqual(SARIFReport.level(.low), "warning")
    XCTAssertEqual(SARIFReport.level(.critical), "error")
  }

  func testTextAndJSONReports() throws {
    let text = TextReport.render(try artifacts())
    XCTAssertTrue(
      text.contains("dir/my file.txt:2:5: high: AWS access key id in the text [text.secret.aws-access-key] (CWE-798)"), text)
    XCTAssertTrue(text.hasSuffix("2 input(s) checked: 1 fail with 2 finding(s)"), text)
    let json = try JSONSerialization.jsonObject(with: Data(try JSONReport.render(try artifacts()).utf8)) as! [String: Any]
    XCTAssertEqual(json["passed"] as? Bool, false)
    let results = json["results"] as! [[String: Any]]
    XCTAssertEqual(results.map { $0["passed"] as! Bool }, [false, true])
  }

  func testBinaryNonUTF8AndHugeInputFailClosed() throws {
    let binary = CheckedArtifact.reading(Data([0x41, 0x00, 0x42]), uri: "b.bin", maxBytes: 100)
    XCTAssertNil(binary.text)
    XCTAssertEqual(binary.failure?.findings.first?.ruleId, "cage.input.unreadable")
    XCTAssertTrue(binary.failure!.findings[0].message.contains("NUL byte at offset 1"))
    XCTAssertFalse(binary.failure!.passed)
    let latin1 = CheckedArtifact.reading(Data([0x63, 0x61, 0x66, 0xe9]), uri: "l.txt", maxBytes: 100)
    XCTAssertTrue(latin1.failure!.findings[0].message.contains("not valid UTF-8"))
    // 100 MB: refused before it is decoded or validated.
    let huge = Data(count: 100 << 20)
    let start = Date()
    let big = CheckedArtifact.reading(huge, uri: "big.txt", maxBytes: SafetyCage.defaultMaxInputBytes)
    XCTAssertTrue(big.failure!.findings[0].message.contains("104857600 bytes, more than max_input_bytes 16777216"))
    XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    // 100 MB of text handed to the cage directly also fails closed, without running the validators.
    let hugeText = String(decoding: Data(repeating: 0x61, count: 100 << 20), as: UTF8.self)
    let checkStart = Date()
    let check = SafetyCage.defaultCage(.text).check(hugeText, stage: .output)
    XCTAssertLessThan(Date().timeIntervalSince(checkStart), 1, "refused by its size, not scanned")
    XCTAssertEqual(check.decision, .refuse)
    XCTAssertEqual(check.verdicts.first?.result, .error)
    XCTAssertTrue(check.verdicts[0].error!.contains("more than max_input_bytes"))
    let ok = CheckedArtifact.reading(Data("plain ✓".utf8), uri: "ok", maxBytes: 100)
    XCTAssertEqual(ok.text, "plain ✓")
  }
}
