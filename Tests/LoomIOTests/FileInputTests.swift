import Foundation
import LoomIO
import XCTest

/// The shared reading helpers: plain words instead of NSCocoaErrorDomain text, size limits
/// before allocation, and JSON field errors naming the file and the field.
final class FileInputTests: XCTestCase {
  var dir: String!
  override func setUp() { dir = TestSupport.scratchDirectory() }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func testMissingDirectoryAndOversizedFiles() throws {
    XCTAssertThrowsError(try FileInput.read(dir + "/nope.json")) {
      XCTAssertEqual("\($0)", "cannot read \(dir!)/nope.json: no such file")
    }
    XCTAssertThrowsError(try FileInput.read(dir)) { XCTAssertEqual("\($0)", "cannot read \(dir!): is a directory, not a file") }
    TestSupport.write(Array(repeating: 0x41, count: 100), to: dir + "/big")
    XCTAssertThrowsError(try FileInput.read(dir + "/big", limit: 10)) {
      XCTAssertTrue("\($0)".contains("the file is 100 bytes, more than the 10"), "\($0)")
    }
    XCTAssertEqual(try FileInput.read(dir + "/big").count, 100)
  }

  func testFoundationErrorsAreTranslated() {
    XCTAssertThrowsError(try Data(contentsOf: URL(fileURLWithPath: dir + "/absent"))) { error in
      let text = FileInput.describe(error, path: self.dir + "/absent")
      XCTAssertEqual(text, "cannot read \(self.dir!)/absent: no such file")
      XCTAssertFalse(text.contains("NSCocoaErrorDomain"))
    }
  }

  struct Sample: Decodable { var steps: Int; var names: [String]; var rate: Double? }

  func testJSONFieldErrorsNameFileFieldAndValue() throws {
    let path = dir + "/sample.json"
    func error(_ json: String) -> String {
      TestSupport.write(Array(json.utf8), to: path)
      do {
        _ = try JSONInput.decode(Sample.self, at: path)
        return "decoded"
      } catch { return "\(error)" }
    }
    XCTAssertEqual(error(#"{"steps": "ten", "names": []}"#), "\(path): field 'steps' must be an integer, got a string \"ten\"")
    XCTAssertEqual(error(#"{"steps": 1e20, "names": []}"#), "\(path): field 'steps' holds the number 1e+20, which is out of range or malformed for its type")
    XCTAssertEqual(error(#"{"steps": 1, "names": [1]}"#), "\(path): field 'names[0]' must be a string, got the number 1")
    XCTAssertEqual(error(#"{"names": []}"#), "\(path): field 'steps' is required")
    XCTAssertEqual(error(#"{"steps": null, "names": []}"#), "\(path): field 'steps' must be an integer, got null")
    XCTAssertTrue(error(#"{"steps": 1,"#).hasPrefix("\(path): not valid JSON"), error(#"{"steps": 1,"#))
    XCTAssertEqual(error(#"{"steps": 2, "names": ["a"], "rate": 0.5}"#), "decoded")
  }
}
