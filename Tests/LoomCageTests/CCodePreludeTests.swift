import Foundation
import XCTest

@testable import LoomCage

/// The prelude's precompiled header and the reuse of translation units change only the speed: every finding (rule,
/// position, message, fix), tree and parse count is the same as with the prelude's text before the code and a fresh
/// unit per parse, on the labelled corpus, flawfinder's example, C++ and wolfSSL files.
final class CCodePreludeTests: XCTestCase {
  override func tearDown() {
    PrecompiledPrelude.bypassed = false
    TranslationUnitPool.enabled = true
  }

  private func corpus() throws -> [(String, String)] {
    let directory = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/c-corpus", withExtension: nil))
    var texts: [(String, String)] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where name.hasSuffix(".c") {
      texts.append((name, try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)))
    }
    let extra = [
      "/usr/share/doc/flawfinder/examples/test.c", "/usr/include/wolfssl/ssl.h", "/usr/include/wolfssl/wolfcrypt/des3.h",
      "/usr/share/doc/libwolfssl-dev/examples/client.c",
    ]
    for path in extra where FileManager.default.fileExists(atPath: path) {
      texts.append((path, String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)))
    }
    texts.append(
      (
        "c++ answer",
        "```cpp\n#include <cstring>\nclass A { char b[8]; public: void f(const char *s) { strcpy(b, s); } };\n"
          + "int g() { A a; a.f(\"x\"); return rand(); }\n```\n"
      ))
    texts.append(("bare statements", "char buf[10];\ngets(buf);\nprintf(buf);\n"))
    texts.append(("syntax error", "int f(void) { return 1 +; }\nint g(void) { char b[4]; strcpy(b, \"toolong\"); }"))
    return texts
  }

  func testPrecompiledPreludeGivesTheSameFindingsAsItsText() throws {
    XCTAssertNotNil(PrecompiledPrelude.c, "the C prelude's PCH is made (a writable temporary directory exists)")
    XCTAssertNotNil(PrecompiledPrelude.cplusplus, "the C++ prelude's PCH is made")
    let validator = CCodeValidator()
    var compared = 0
    var findings = 0
    var parses = (pch: 0, text: 0)
    let reparsesBefore = TranslationUnitPool.shared.reparses
    for (name, text) in try corpus() {
      PrecompiledPrelude.bypassed = false
      TranslationUnitPool.enabled = true
      let withPCH = try validator.analyze(text)
      PrecompiledPrelude.bypassed = true
      TranslationUnitPool.enabled = false
      let withText = try validator.analyze(text)
      XCTAssertEqual(withPCH.findings, withText.findings, name)
      XCTAssertEqual(withPCH.nodes, withText.nodes, "\(name): the same syntax tree")
      parses.pch += withPCH.parses
      parses.text += withText.parses
      compared += 1
      findings += withPCH.findings.count
    }
    XCTAssertEqual(parses.pch, parses.text)
    XCTAssertGreaterThan(TranslationUnitPool.shared.reparses - reparsesBefore, compared, "units were re-parsed")
    XCTAssertGreaterThanOrEqual(compared, 40)
    XCTAssertGreaterThan(findings, 40, "the comparison covers real findings")
    // The syntax error is still reported with the PCH and a re-parsed unit.
    PrecompiledPrelude.bypassed = false
    TranslationUnitPool.enabled = true
    let broken = try validator.validate("int f(void) { return 1 +; }")
    XCTAssertEqual(broken.map(\.ruleId), ["c.parse.syntax-error"])
    XCTAssertEqual(broken.first?.location?.line, 1)
  }
}
