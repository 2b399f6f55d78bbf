import Foundation
import XCTest

@testable import LoomCage

/// Bad input for the C analyser: mutated corpus files (truncated, bytes replaced, ranges deleted or duplicated),
/// random and non-UTF-8 bytes, NULs, 10,000-level nesting of every kind, a 10 MB text and one over the size limit.
/// Each must end in findings or a CageError, never a crash or a hang.
final class CCodeRobustnessTests: XCTestCase {
  /// SplitMix64: deterministic mutations.
  private struct Mutator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
      var bytes = input
      guard !bytes.isEmpty else { return bytes }
      switch below(4) {
      case 0: bytes = Array(bytes.prefix(below(bytes.count)))
      case 1:
        for _ in 0..<(1 + below(8)) { bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: next()) }
      case 2:
        let start = below(bytes.count)
        bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(64)))
      default:
        let start = below(bytes.count)
        let piece = bytes[start..<min(bytes.count, start + 1 + below(128))]
        bytes.insert(contentsOf: piece, at: below(bytes.count))
      }
      return bytes
    }
  }

  /// Runs the analyser and returns the rule ids, or ["error"] when it threw a CageError; fails on time.
  private func check(_ text: String, seconds: Double = 10, file: StaticString = #filePath, line: UInt = #line) -> [String] {
    let start = Date()
    defer {
      XCTAssertLessThan(Date().timeIntervalSince(start), seconds, "analysis took too long", file: file, line: line)
    }
    do {
      return try CCodeValidator().validate(text).map(\.ruleId)
    } catch is CageError {
      return ["error"]
    } catch {
      XCTFail("unexpected error \(error)", file: file, line: line)
      return []
    }
  }

  func testMutatedCorpusFilesNeverCrashOrHang() throws {
    let directory = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/c-corpus", withExtension: nil))
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".bad.c") }
      .sorted()
    XCTAssertGreaterThan(files.count, 30)
    var mutator = Mutator(state: 20)
    var analysed = 0
    let start = Date()
    for name in files {
      let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
      for _ in 0..<2 {
        _ = check(String(decoding: mutator.mutate(bytes), as: UTF8.self), seconds: 5)
        analysed += 1
      }
    }
    print("fuzz: \(analysed) mutated files in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
  }

  func testRandomBytesNonUTF8AndNULsFailClosed() {
    var mutator = Mutator(state: 7)
    let random = (0..<65536).map { _ in UInt8(truncatingIfNeeded: mutator.next()) }
    // Invalid UTF-8 becomes U+FFFD when decoded; NULs stay.
    XCTAssertTrue(check(String(decoding: random, as: UTF8.self)).contains("c.parse.syntax-error"))
    XCTAssertTrue(check("void f(char *b) {\0 gets(b); }\0\0").contains("c.dangerous-function.gets"))
    XCTAssertEqual(check(String(decoding: [0xFF, 0xFE, 0x00, 0xC3], as: UTF8.self)), ["c.parse.syntax-error"])
  }

  func testDeepNestingEndsInAFindingNotACrash() {
    let n = 10_000
    let braces = "void f(char *b) {\n" + String(repeating: "{", count: n) + "gets(b);"
      + String(repeating: "}", count: n) + "\n}\n"
    XCTAssertTrue(check(braces).contains("c.parse.syntax-error"))  // clang's bracket limit (256)
    let parens = "int f(int x) { return " + String(repeating: "(", count: n) + "x" + String(repeating: ")", count: n)
      + "; }\n"
    XCTAssertTrue(check(parens).contains("c.parse.syntax-error"))
    // These would overflow clang's own stack: refused before parsing.
    let ifs = "void f(int x, char *b) {\n" + String(repeating: "if (x) ", count: n) + "gets(b);\n}\n"
    XCTAssertEqual(check(ifs), ["c.parse.too-deep"])
    let elses = "void f(int x) {\n if (x == 0) x = 1;\n"
      + (1..<n).map { " else if (x == \($0)) x = \($0 + 1);\n" }.joined() + "}\n"
    XCTAssertEqual(check(elses), ["c.parse.too-deep"])
    let chain = "int f(int a) { return " + Array(repeating: "a", count: 100_000).joined(separator: "+") + "; }\n"
    XCTAssertEqual(check(chain), ["c.parse.too-deep"])
    // Deep but parseable (1,000 unbraced ifs): analysed down to the walk's depth limit.
    let deep = "void f(int x, char *b) {\n" + String(repeating: "if (x) ", count: 1000) + "gets(b);\n}\n"
    XCTAssertEqual(check(deep), ["c.parse.too-deep"])
  }

  func testLargeInputsAreBoundedOrRefused() {
    // 10 MB: a long comment around real code.
    let comment = "/*" + String(repeating: "lorem ipsum dolor sit amet ", count: 10_000_000 / 27) + "*/\n"
    let big = comment + "void f(char *b) { gets(b); }\n"
    XCTAssertGreaterThan(big.utf8.count, 10_000_000)
    XCTAssertEqual(check(big, seconds: 20), ["c.dangerous-function.gets"])
    // Over the limit: a clear error.
    let validator = CCodeValidator(maximumBytes: 1 << 20)
    XCTAssertThrowsError(try validator.validate(big)) { error in
      XCTAssertTrue("\(error)".contains("over the C analyser's limit"), "\(error)")
    }
  }
}
