import Foundation
import XCTest

@testable import LoomPostTrain

/// Files saved with Windows line endings (found while writing fuzz-preference): "\r\n" is one Character in Swift, so the
/// readers used to see a CRLF file as one line — a preference file failed as invalid JSON and a plain prompts
/// file became a single prompt holding every line.
final class CRLFInputTests: XCTestCase {
  func write(_ name: String, _ text: String) throws -> String {
    let dir = NSTemporaryDirectory() + "loom-crlf-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(text.utf8))
    return dir + "/" + name
  }

  func testPreferenceRowsSplitOnCRLF() throws {
    let path = try write(
      "p.jsonl",
      "{\"prompt\": \"Q\", \"chosen\": \"a\", \"rejected\": \"b\"}\r\n\r\n"
        + "{\"prompt\": \"R\", \"chosen\": \"c\", \"rejected\": \"d\"}\r\n")
    let rows = try PreferenceData.load(path)
    XCTAssertEqual(rows.map(\.prompt), ["Q", "R"])
    XCTAssertEqual(rows.map(\.rejected), ["b", "d"])
    let bad = try write("bad.jsonl", "{\"prompt\": \"Q\", \"chosen\": \"a\", \"rejected\": \"b\"}\r\n{nope\r\n")
    XCTAssertThrowsError(try PreferenceData.load(bad)) { XCTAssertTrue("\($0)".contains("bad.jsonl:2:"), "\($0)") }
  }

  func testPromptsSplitOnCRLF() throws {
    XCTAssertEqual(try PromptsFile.read(write("p.txt", "first\r\n\r\nsecond\r\n")), ["first", "second"])
    XCTAssertEqual(
      try PromptsFile.read(write("p.jsonl", "{\"prompt\": \"a b\"}\r\n{\"prompt\": \"c\"}\r\n")), ["a b", "c"])
  }
}
