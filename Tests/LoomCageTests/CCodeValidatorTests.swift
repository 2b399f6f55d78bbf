import Foundation
import XCTest

@testable import LoomCage

/// The C analyser on its labelled corpus (Fixtures/c-corpus: a vulnerable and a fixed version per rule, with a
/// manifest of expected rule ids), on exact positions and fixes, on fenced model output, and on flawfinder's example.
final class CCodeValidatorTests: XCTestCase {
  private struct Manifest: Decodable {
    struct Entry: Decodable {
      var file: String
      var expected: [String]
    }
    var files: [Entry]
  }

  private func corpusFile(_ name: String) throws -> String {
    let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/c-corpus/\(name)", withExtension: nil))
    return try String(contentsOf: url, encoding: .utf8)
  }

  private func ruleIds(_ findings: [Finding]) -> Set<String> { Set(findings.map(\.ruleId)) }

  func testCorpusRecallAndFalsePositiveRate() throws {
    let manifest = try JSONDecoder().decode(Manifest.self, from: Data(try corpusFile("manifest.json").utf8))
    let validator = CCodeValidator()
    var expectedPairs = 0
    var foundPairs = 0
    var fixedFiles = 0
    var fixedWithFindings = 0
    var misses: [String] = []
    var falsePositives: [String] = []
    for entry in manifest.files {
      let found = ruleIds(try validator.validate(try corpusFile(entry.file)))
      if entry.expected.isEmpty {
        fixedFiles += 1
        if !found.isEmpty {
          fixedWithFindings += 1
          falsePositives.append("\(entry.file): \(found.sorted())")
        }
      } else {
        for rule in entry.expected {
          expectedPairs += 1
          if found.contains(rule) { foundPairs += 1 } else { misses.append("\(entry.file): \(rule), got \(found.sorted())") }
        }
      }
    }
    let recall = Double(foundPairs) / Double(expectedPairs)
    let falsePositiveRate = Double(fixedWithFindings) / Double(fixedFiles)
    print(
      "c-corpus: recall \(foundPairs)/\(expectedPairs) = \(String(format: "%.1f", recall * 100)) %, false positives "
        + "\(fixedWithFindings)/\(fixedFiles) fixed files = \(String(format: "%.1f", falsePositiveRate * 100)) %")
    misses.forEach { print("  missed: \($0)") }
    falsePositives.forEach { print("  false positive: \($0)") }
    XCTAssertGreaterThanOrEqual(expectedPairs, 35)
    XCTAssertGreaterThanOrEqual(recall, 0.95)
    XCTAssertLessThanOrEqual(falsePositiveRate, 0.05)
    // Every rule of the analyser has a vulnerable case in the corpus.
    let covered = Set(manifest.files.flatMap(\.expected))
    let uncovered = Set(CCodeValidator.allRules.map(\.id)).subtracting(covered).subtracting(["c.parse.too-deep"])
    XCTAssertEqual(uncovered, [], "rules without a corpus case")
  }

  func testExactFindingsAndFixes() throws {
    let validator = CCodeValidator()
    let getsText = try corpusFile("gets.bad.c")
    let gets = try validator.validate(getsText)
    XCTAssertEqual(gets.map(\.ruleId), ["c.dangerous-function.gets"])
    XCTAssertEqual(gets[0].location?.line, 6)
    XCTAssertEqual(gets[0].location?.column, 3)
    XCTAssertEqual(gets[0].cwe, [242, 120])
    XCTAssertEqual(gets[0].severity, .critical)
    let fix = try XCTUnwrap(gets[0].fix)
    XCTAssertEqual(fix.replacement, "fgets(name, sizeof name, stdin)")
    XCTAssertEqual(slice(getsText, fix.utf8Range), "gets(name)")
    XCTAssertEqual(try validator.validate(apply(fix, to: getsText)), [])

    let format = try validator.validate(try corpusFile("format.bad.c"))
    XCTAssertEqual(format.map(\.ruleId), ["c.format-string.non-literal", "c.format-string.non-literal"])
    XCTAssertEqual(format.map { [$0.location!.line, $0.location!.column] }, [[4, 3], [5, 3]])
    XCTAssertEqual(format[0].fix?.replacement, "\"%s\", ")

    let useAfterFree = try validator.validate(try corpusFile("use-after-free.bad.c"))
    XCTAssertEqual(useAfterFree.map(\.ruleId), ["c.memory.use-after-free"])
    XCTAssertEqual(useAfterFree[0].location?.line, 9)
    XCTAssertEqual(useAfterFree[0].location?.column, 33)

    let doubleFree = try validator.validate(try corpusFile("double-free.bad.c"))
    XCTAssertEqual(doubleFree.map(\.ruleId), ["c.memory.double-free"])
    XCTAssertEqual(doubleFree[0].location?.line, 9)
    XCTAssertEqual(doubleFree[0].location?.column, 3)

    let overflowText = try corpusFile("alloc-overflow.bad.c")
    let overflow = try validator.validate(overflowText)
    XCTAssertEqual(overflow.map(\.ruleId), ["c.allocation.size-overflow"])
    XCTAssertEqual(overflow[0].location?.line, 7)
    XCTAssertEqual(overflow[0].fix?.replacement, "calloc(count, sizeof(struct record))")
    XCTAssertEqual(try validator.validate(apply(try XCTUnwrap(overflow[0].fix), to: overflowText)), [])

    let scanfText = try corpusFile("scanf.bad.c")
    let scanf = try validator.validate(scanfText)
    XCTAssertEqual(scanf.map(\.ruleId), ["c.dangerous-function.scanf-string"])
    XCTAssertEqual(scanf[0].fix?.replacement, "\"%d %15s\"")
    XCTAssertEqual(try validator.validate(apply(try XCTUnwrap(scanf[0].fix), to: scanfText)), [])
  }

  func testFencedModelOutputKeepsPositionsInTheWholeText() throws {
    let answer = """
      Here is a function that reads a line:

      ```python
      print(input())
      ```

      ```c
      void f(void) {
        char buf[32];
        gets(buf);
      }
      ```
      Done.
      """
    let findings = try CCodeValidator().validate(answer)
    XCTAssertEqual(findings.map(\.ruleId), ["c.dangerous-function.gets"])
    XCTAssertEqual(findings[0].location?.line, 10)
    XCTAssertEqual(findings[0].location?.column, 3)
    let range = try XCTUnwrap(findings[0].location?.utf8Range)
    XCTAssertEqual(slice(answer, range), "gets(buf)")
    // Only a non-C fence: nothing to check. An unterminated C fence (a truncated answer) is still checked.
    XCTAssertEqual(try CCodeValidator().validate("```python\nos.system(cmd)\n```\n"), [])
    XCTAssertEqual(ruleIds(try CCodeValidator().validate("```c\nint main(void) {\n  system(getenv(\"X\"));\n")).sorted(),
      ["c.command-injection.system", "c.parse.syntax-error"])
  }

  func testBareStatementsAndMissingHeadersStillParse() throws {
    // No function around the statements, no headers, unknown types and macros: the analyser infers them.
    let snippet = """
      WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_2_client_method());
      char buf[16];
      strcpy(buf, argv[1]);
      MyType *items = malloc(count * sizeof(MyType));
      memset(items, 0, count * sizeof(MyType));
      """
    let findings = try CCodeValidator().validate(snippet)
    XCTAssertEqual(
      ruleIds(findings),
      ["c.dangerous-function.strcpy", "c.allocation.size-overflow", "c.allocation.unchecked-result"])
    XCTAssertEqual(findings.first { $0.ruleId == "c.dangerous-function.strcpy" }?.location?.line, 3)
  }

  func testSeverityFloorAndRuleSelection() throws {
    let text = try corpusFile("toctou.bad.c") + "\nvoid g(char *b) { gets(b); }\n"
    XCTAssertEqual(ruleIds(try CCodeValidator().validate(text)), ["c.race.toctou", "c.dangerous-function.gets"])
    XCTAssertEqual(ruleIds(try CCodeValidator(minimumSeverity: .high).validate(text)), ["c.dangerous-function.gets"])
    XCTAssertEqual(
      ruleIds(try CCodeValidator(enabledRules: ["c.race.toctou"]).validate(text)), ["c.race.toctou"])
  }

  func testRuleTableIsCompleteAndStable() {
    let rules = CCodeValidator.allRules
    XCTAssertEqual(Set(rules.map(\.id)).count, rules.count)
    XCTAssertTrue(rules.allSatisfy { $0.id.hasPrefix("c.") && !$0.summary.isEmpty })
    XCTAssertEqual(rules.first { $0.id == "c.format-string.non-literal" }?.cwe, [134])
    XCTAssertEqual(rules.first { $0.id == "c.memory.double-free" }?.severity, .critical)
    XCTAssertEqual(CCodeValidator().name, "c_code")
  }

  /// flawfinder's shipped example: Loom reports every hit of risk ≥ 4 listed in its expected results. Differences:
  /// Loom also reports gets() on lines 28 and 31, which flawfinder skips only because of `Flawfinder: ignore`
  /// comments; memcpy(d, s, n) on line 54 (n unbounded; flawfinder risk 2) and strncat(d, s, 10) is not reported
  /// (10 fits d[20]). flawfinder's two hits on line 77 are one finding in Loom.
  func testReportsEveryFlawfinderHitOfRiskFourOrMore() throws {
    let directory = "/usr/share/doc/flawfinder/examples"
    guard FileManager.default.fileExists(atPath: "\(directory)/test.c") else {
      throw XCTSkip("Debian's flawfinder is not installed (scripts/install.sh installs it)")
    }
    let expected = try String(contentsOfFile: "\(directory)/correct-results.txt", encoding: .utf8)
    var lines = Set<Int>()
    for line in expected.split(separator: "\n") where line.hasPrefix("test.c:") {
      let parts = line.split(separator: ":")
      guard parts.count > 2, let number = Int(parts[1]), let open = line.firstIndex(of: "["),
        let risk = Int(String(line[line.index(after: open)]))
      else { continue }
      if risk >= 4 { lines.insert(number) }
    }
    XCTAssertEqual(lines.count, 16)
    let findings = try CCodeValidator().validate(try String(contentsOfFile: "\(directory)/test.c", encoding: .utf8))
    let reported = Set(findings.compactMap { $0.location?.line })
    XCTAssertEqual(lines.subtracting(reported), [], "flawfinder hits of risk >= 4 that Loom missed")
    print("flawfinder risk>=4 lines: \(lines.sorted()); Loom lines: \(reported.sorted())")
    for finding in findings { print("  \(finding.location!.line):\(finding.location!.column) \(finding.ruleId)") }
  }

  private func slice(_ text: String, _ range: Range<Int>) -> String {
    String(decoding: Array(text.utf8)[range], as: UTF8.self)
  }

  private func apply(_ fix: Fix, to text: String) -> String {
    var bytes = Array(text.utf8)
    bytes.replaceSubrange(fix.utf8Range, with: Array(fix.replacement.utf8))
    return String(decoding: bytes, as: UTF8.self)
  }
}
