import Foundation
import LoomCore
import LoomIO
import XCTest

final class SafeTensorsTests: XCTestCase {
  var dir: String!

  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-st-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func fixture() -> String {
    Bundle.module.url(forResource: "torch_dtypes", withExtension: "safetensors", subdirectory: "Fixtures")!.path
  }

  /// Every dtype written by PyTorch reads back with exact values.
  func testReadsPyTorchFile() throws {
    let file = try SafeTensorsFile(path: fixture())
    XCTAssertEqual(file.metadata, ["format": "pt", "note": "loom fixture"])
    let base = (0..<12).map { Double($0) / 8 - 0.7 }
    let f32 = try file.tensor("f32")
    XCTAssertEqual(f32.shape, [3, 4])
    XCTAssertEqual(f32.dtype, .float32)
    XCTAssertEqual(f32.floats, base.map { Float($0) })
    XCTAssertEqual(try file.tensor("f64").doubles, base)
    XCTAssertEqual(try file.tensor("f16").dtype, .float16)
    XCTAssertEqual(try file.tensor("f16").floats, base.map { Float(Float16(Float($0))) })
    let bf = try file.tensor("bf16").floats
    XCTAssertEqual(bf.count, 12)
    for (a, b) in zip(bf, base) { XCTAssertEqual(Double(a), b, accuracy: 0.004) }
    XCTAssertEqual(try file.tensor("i64").int64s, [-3, -2, -1, 0, 1, 2])
    XCTAssertEqual(try file.tensor("i32").toArray(Int32.self), [0, 7, 14, 21, 28])
    XCTAssertEqual(try file.tensor("u8").toArray(UInt8.self), [0, 127, 255])
    XCTAssertEqual(try file.tensor("bool").toArray(Bool.self), [true, false, true])
    XCTAssertEqual(try file.tensor("scalar").shape, [])
    XCTAssertEqual(try file.tensor("scalar").item(), 2.5)
    XCTAssertEqual(try file.tensor("empty").shape, [0, 3])
  }

  func testRoundTripKeepsValuesShapesAndMetadata() throws {
    let path = dir + "/model.safetensors"
    let tensors: [String: Tensor] = [
      "transformer.wte.weight": Tensor.randn([7, 5], generator: Generator(seed: 1)),
      "ids": Tensor([Int64(4), -1, 9]),
      "mask": Tensor([true, false]),
      "half": Tensor([Float(0.5), -1.25]).to(.bfloat16),
      "view": Tensor((0..<6).map { Float($0) }, shape: [2, 3]).T,  // non-contiguous input
    ]
    try SafeTensors.save(tensors, metadata: ["format": "pt"], to: path)
    let file = try SafeTensorsFile(path: path)
    XCTAssertEqual(file.metadata, ["format": "pt"])
    XCTAssertEqual(Set(file.names), Set(tensors.keys))
    for (name, t) in tensors {
      let r = try file.tensor(name)
      XCTAssertEqual(r.shape, t.shape, name)
      XCTAssertEqual(r.dtype, t.dtype, name)
      XCTAssertEqual(r.toArray(Double.self), t.toArray(Double.self), name)
    }
  }

  func testWriteIsAtomicAndLeavesNoTemporaryFiles() throws {
    let path = dir + "/ckpt.safetensors"
    try SafeTensors.save(["a": Tensor([Float(1)])], to: path)
    // A failing write (a dtype that cannot be stored is impossible; use a missing dir)
    XCTAssertThrowsError(try SafeTensors.save(["a": Tensor([Float(2)])], to: dir + "/missing/x.safetensors"))
    try SafeTensors.save(["a": Tensor([Float(3)])], to: path)
    XCTAssertEqual(try SafeTensorsFile(path: path).tensor("a").floats, [3])
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("tmp") }
    XCTAssertEqual(leftovers, [])
  }

  /// Writes a file with the given header JSON and data bytes.
  func craft(_ header: String, data: Int = 0, name: String = "bad.safetensors", lengthOverride: UInt64? = nil) -> String {
    let path = dir + "/" + name
    var bytes = Data()
    var n = (lengthOverride ?? UInt64(header.utf8.count)).littleEndian
    bytes.append(Data(bytes: &n, count: 8))
    bytes.append(header.data(using: .utf8)!)
    bytes.append(Data(repeating: 0, count: data))
    _ = FileManager.default.createFile(atPath: path, contents: bytes)
    return path
  }

  func assertRejects(_ path: String, containing fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try SafeTensorsFile(path: path), file: file, line: line) { error in
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix(path), "error should name the file: \(text)", file: file, line: line)
      for f in fragments {
        XCTAssertTrue(text.contains(f), "'\(text)' should mention '\(f)'", file: file, line: line)
      }
    }
  }

  func testMalformedFilesGiveClearErrors() throws {
    let good = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    // Truncated: the data section is shorter than the offsets say.
    assertRejects(craft(good, data: 4), containing: ["'w'", "truncated"])
    // Header length beyond the file.
    assertRejects(craft(good, data: 8, lengthOverride: 4096), containing: ["header length 4096", "truncated"])
    // Not JSON.
    assertRejects(craft("{not json}   ", data: 0), containing: ["not a JSON object"])
    // Unknown dtype.
    assertRejects(craft(#"{"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#, data: 8), containing: ["'w'", "unknown dtype 'Q7'"])
    // Shape and byte count disagree.
    assertRejects(craft(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8), containing: ["'w'", "needs 12"])
    // Overlapping tensors.
    let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
    assertRejects(craft(overlap, data: 12), containing: ["'b'", "overlap"])
    // A gap between tensors.
    let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
    assertRejects(craft(gap, data: 12), containing: ["'b'", "gap"])
    // Too short to hold a header.
    let tiny = dir + "/tiny.safetensors"
    _ = FileManager.default.createFile(atPath: tiny, contents: Data([1, 2, 3]))
    assertRejects(tiny, containing: ["too short"])
    // Missing file.
    assertRejects(dir + "/nope.safetensors", containing: ["cannot open"])
    // Asking for a tensor that is not there.
    let ok = craft(good, data: 8, name: "ok.safetensors")
    XCTAssertThrowsError(try SafeTensorsFile(path: ok).tensor("v")) { error in
      XCTAssertTrue("\(error)".contains("'v': no such tensor"))
    }
  }
}
