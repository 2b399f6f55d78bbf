import Foundation
import XCTest
import LoomIO

final class IDXTests: XCTestCase {
  var dir = ""
  override func setUp() { dir = TestSupport.scratchDirectory() }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  static let fashionDir = FashionMNIST.defaultDirectory

  func requireFashionMNIST() throws {
    try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.fashionDir + "/t10k-labels-idx1-ubyte.gz"),
                      "dataset-fashion-mnist is not installed")
  }

  /// Values checked against Python (gzip + raw bytes) on the Debian files.
  func testRealFashionMNIST() throws {
    try requireFashionMNIST()
    let train = try FashionMNIST.load(split: .train)
    XCTAssertEqual(train.count, 60000)
    XCTAssertEqual(train.images.rows, 28)
    XCTAssertEqual(train.images.cols, 28)
    XCTAssertEqual(train.images.pixels.count, 60000 * 784)
    XCTAssertEqual(Array(train.labels.labels.prefix(12)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9])
    XCTAssertEqual(train.images.image(0).reduce(0) { $0 + Int($1) }, 76247)
    // Row 14 of the first image.
    let row14 = Array(train.images.image(0).dropFirst(14 * 28).prefix(8))
    XCTAssertEqual(row14, [0x00, 0x00, 0x01, 0x04, 0x06, 0x07, 0x02, 0x00])
    var hist = [Int](repeating: 0, count: 10)
    for l in train.labels.labels { hist[Int(l)] += 1 }
    XCTAssertEqual(hist, [Int](repeating: 6000, count: 10))

    let test = try FashionMNIST.load(split: .test)
    XCTAssertEqual(test.count, 10000)
    XCTAssertEqual(Array(test.labels.labels.prefix(12)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5])
    XCTAssertEqual(test.images.image(0).reduce(0) { $0 + Int($1) }, 33456)
    XCTAssertEqual(FashionMNIST.classNames.count, 10)
  }

  // MARK: - synthetic files

  func idx(magic: UInt32, dims: [UInt32], data: [UInt8]) -> [UInt8] {
    var b: [UInt8] = []
    for v in [magic] + dims { b += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    return b + data
  }

  func put(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws -> String {
    let path = dir + "/" + name
    TestSupport.write(bytes, to: path)
    if gzip {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/gzip")
      p.arguments = ["-f", "-n", path]
      try p.run()
      p.waitUntilExit()
      return path + ".gz"
    }
    return path
  }

  func testPlainAndGzipReadTheSame() throws {
    let pixels = (0..<(3 * 2 * 4)).map { UInt8($0 * 7 & 0xFF) }
    let raw = idx(magic: IDX.imagesMagic, dims: [3, 2, 4], data: pixels)
    let plain = try IDX.readImages(path: try put("a-images", raw))
    XCTAssertEqual(plain, IDXImages(count: 3, rows: 2, cols: 4, pixels: pixels))
    let gz = try IDX.readImages(path: try put("b-images", raw, gzip: true))
    XCTAssertEqual(gz, plain)
    XCTAssertEqual(Array(plain.image(2)), Array(pixels[16..<24]))
    let labels = try IDX.readLabels(path: try put("l", idx(magic: IDX.labelsMagic, dims: [3], data: [4, 0, 9]), gzip: true))
    XCTAssertEqual(labels.labels, [4, 0, 9])
  }

  func expect(_ kind: IDXError.Kind, _ path: String, _ needles: [String] = [], _ body: () throws -> Void,
              file: StaticString = #filePath, line: UInt = #line) {
    let e = assertThrows(IDXError.self, mentioning: [path] + needles, file: file, line: line, body)
    XCTAssertEqual(e?.kind, kind, file: file, line: line)
  }

  func testBadMagic() throws {
    let p = try put("m", idx(magic: IDX.labelsMagic, dims: [1], data: [1]))
    expect(.badMagic, p, ["0x00000801", "0x00000803"]) { _ = try IDX.readImages(path: p) }
    let q = try put("f", idx(magic: 0x0000_0D03, dims: [1, 1, 1], data: [0, 0, 0, 0]))  // float data
    expect(.badMagic, q) { _ = try IDX.readImages(path: q) }
  }

  func testTruncatedAndTrailing() throws {
    let p = try put("t", idx(magic: IDX.imagesMagic, dims: [2, 2, 2], data: [1, 2, 3]))
    expect(.truncated, p, ["truncated"]) { _ = try IDX.readImages(path: p) }
    let h = try put("h", Array(idx(magic: IDX.imagesMagic, dims: [2, 2, 2], data: []).prefix(9)))
    expect(.truncated, h) { _ = try IDX.readImages(path: h) }
    let x = try put("x", idx(magic: IDX.labelsMagic, dims: [2], data: [1, 2, 3]))
    expect(.trailingBytes, x, ["extra"]) { _ = try IDX.readLabels(path: x) }
    let big = try put("big", idx(magic: IDX.imagesMagic, dims: [UInt32.max, UInt32.max, UInt32.max], data: [1]))
    expect(.truncated, big) { _ = try IDX.readImages(path: big) }
    let z = try put("z", idx(magic: IDX.imagesMagic, dims: [1, 0, 5], data: []))
    expect(.badDimensions, z) { _ = try IDX.readImages(path: z) }
  }

  func testTruncatedAndCorruptGzip() throws {
    let raw = idx(magic: IDX.imagesMagic, dims: [4, 8, 8], data: (0..<256).map { UInt8($0) })
    let gz = try put("g", raw, gzip: true)
    let bytes = TestSupport.read(gz)
    let cut = dir + "/cut.gz"
    TestSupport.write(Array(bytes.prefix(bytes.count / 2)), to: cut)
    expect(.badGzip, cut, ["truncated"]) { _ = try IDX.readImages(path: cut) }
    var bad = bytes
    for k in 12..<min(40, bad.count - 8) { bad[k] ^= 0x5A }
    let corrupt = dir + "/corrupt.gz"
    TestSupport.write(bad, to: corrupt)
    expect(.badGzip, corrupt) { _ = try IDX.readImages(path: corrupt) }
  }

  func testMismatchedCountsAndBadLabels() throws {
    let d = dir + "/ds"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    TestSupport.write(idx(magic: IDX.imagesMagic, dims: [3, 1, 1], data: [1, 2, 3]), to: d + "/t10k-images-idx3-ubyte")
    TestSupport.write(idx(magic: IDX.labelsMagic, dims: [2], data: [1, 2]), to: d + "/t10k-labels-idx1-ubyte")
    expect(.countMismatch, d + "/t10k-labels-idx1-ubyte", ["2 labels", "3 images"]) {
      _ = try FashionMNIST.load(split: .test, directory: d)
    }
    TestSupport.write(idx(magic: IDX.labelsMagic, dims: [3], data: [1, 2, 10]), to: d + "/t10k-labels-idx1-ubyte")
    expect(.badLabel, d + "/t10k-labels-idx1-ubyte", ["10"]) { _ = try FashionMNIST.load(split: .test, directory: d) }
    TestSupport.write(idx(magic: IDX.labelsMagic, dims: [3], data: [1, 2, 9]), to: d + "/t10k-labels-idx1-ubyte")
    XCTAssertEqual(try FashionMNIST.load(split: .test, directory: d).labels.labels, [1, 2, 9])
  }

  func testMissingDatasetNamesFileAndPackage() {
    let d = dir + "/nothing-here"
    expect(.missingFile, d + "/train-images-idx3-ubyte.gz", ["apt-get install dataset-fashion-mnist"]) {
      _ = try FashionMNIST.load(split: .train, directory: d)
    }
    expect(.missingFile, d + "/x", ["not found"]) { _ = try IDX.readLabels(path: d + "/x") }
  }
}
