import Foundation
import XCTest

func fixture(_ name: String) throws -> Any {
  let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/" + name)
  return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
}

/// A fresh temporary directory, removed when the test ends.
func tempDir(_ test: XCTestCase) throws -> String {
  let d = NSTemporaryDirectory() + "loomds-\(UUID().uuidString)"
  try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
  return d
}

func write(_ text: String, _ path: String) throws {
  try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// Asserts `body` throws an error whose message contains every fragment.
func assertThrows<T>(
  _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
  do {
    _ = try body()
    XCTFail("expected an error containing \(fragments)", file: file, line: line)
  } catch {
    let m = "\(error)"
    for f in fragments where !m.contains(f) {
      XCTFail("error '\(m)' lacks '\(f)'", file: file, line: line)
    }
  }
}
