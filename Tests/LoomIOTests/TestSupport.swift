import Foundation
import XCTest

/// Fixture paths and scratch files for LoomIO tests.
enum TestSupport {
  static func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!.path
  }

  /// A fresh scratch directory, removed by the caller's tearDown via `cleanup`.
  static func scratchDirectory() -> String {
    let dir = NSTemporaryDirectory() + "loomio-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  static func write(_ bytes: [UInt8], to path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
  }

  static func read(_ path: String) -> [UInt8] {
    [UInt8](FileManager.default.contents(atPath: path)!)
  }
}

/// Asserts `body` throws an error whose description contains every needle.
func assertThrows<E: Error>(_ type: E.Type, mentioning needles: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> E? {
  do {
    try body()
    XCTFail("expected an error mentioning \(needles)", file: file, line: line)
  } catch let e as E {
    let text = String(describing: e)
    for n in needles where !text.contains(n) {
      XCTFail("error '\(text)' does not mention '\(n)'", file: file, line: line)
    }
    return e
  } catch {
    XCTFail("unexpected error type: \(error)", file: file, line: line)
  }
  return nil
}
