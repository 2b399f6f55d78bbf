import Foundation
import LoomIO
import XCTest

/// Hostile safetensors headers (issue 13): each throws an error naming the file, the tensor
/// or byte offset and what was expected, where main trapped converting or multiplying.
final class SafeTensorsHardeningTests: XCTestCase {
  var dir: String!
  override func setUp() { dir = TestSupport.scratchDirectory() }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func file(header: String, length: UInt64? = nil, data: [UInt8] = [0, 0, 0, 0]) -> String {
    let h = Array(header.utf8)
    var bytes = withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian, Array.init)
    bytes += h + data
    let path = dir + "/\(UUID().uuidString).safetensors"
    TestSupport.write(bytes, to: path)
    return path
  }

  func rejects(_ path: String, _ needles: [String], line: UInt = #line) {
    XCTAssertThrowsError(try SafeTensorsFile(path: path), line: line) { error in
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix(path), "names the file: \(text)", line: line)
      for n in needles { XCTAssertTrue(text.contains(n), "'\(n)' not in: \(text)", line: line) }
    }
  }

  func testHeaderLengthOf2To63IsAnErrorNotATrap() {
    let h = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
    rejects(file(header: h, length: 1 << 63), ["byte 0", "header length 9223372036854775808", "does not fit"])
    rejects(file(header: h, length: UInt64.max), ["header length 18446744073709551615"])
  }

  func testHugeAndNonIntegerDimensionsAreRejected() {
    rejects(file(header: #"{"a":{"dtype":"F32","shape":[1e20],"data_offsets":[0,4]}}"#), ["tensor 'a'", "invalid dimension"])
    rejects(file(header: #"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#), ["tensor 'a'", "invalid dimension"])
    rejects(file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#), ["expected integers >= 0"])
  }

  func testOverflowingElementCountIsRejected() {
    rejects(
      file(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#),
      ["tensor 'a'", "more elements than the 4-byte data section can hold"])
    rejects(
      file(header: #"{"a":{"dtype":"F64","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}"#),
      ["more elements than"])
  }

  func testOffsetsOutOfRangeOrHugeAreRejected() {
    rejects(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,1e30]}}"#), ["data_offsets must be [begin, end]"])
    rejects(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#), ["run past the end of the data section (4 bytes)"])
    rejects(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), ["needs 8"])
  }

  func testDuplicateTensorNamesAreRejected() {
    let e = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
    rejects(file(header: #"{"a":\#(e),"a":\#(e)}"#), ["tensor 'a'", "lists this tensor twice"])
    rejects(file(header: #"{"a":\#(e),"\u0061":\#(e)}"#), ["lists this tensor twice"])
    // The same name nested inside an entry is not a duplicate.
    XCTAssertNoThrow(try SafeTensorsFile(path: file(header: #"{"dtype":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#)))
  }

  func testHeaderThatIsNotAnObject() {
    rejects(file(header: "[1, 2]    "), ["byte 8", "must start with '{'"])
  }

  func testDirectoryAndMissingFileAreNamedPlainly() {
    XCTAssertThrowsError(try SafeTensorsFile(path: dir)) { XCTAssertTrue("\($0)".contains("is a directory"), "\($0)") }
    XCTAssertThrowsError(try SafeTensorsFile(path: dir + "/none.safetensors")) {
      XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
    }
  }
}
