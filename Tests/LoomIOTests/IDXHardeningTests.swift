import Foundation
@testable import LoomIO
import XCTest

/// IDX inputs that reached training or memory on main (issue 13): an empty split, huge
/// dimensions, a gzip bomb, a directory in place of a file.
final class IDXHardeningTests: XCTestCase {
  var dir = ""
  override func setUp() { dir = TestSupport.scratchDirectory() }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func idx(_ magic: UInt32, _ dims: [UInt32], _ data: [UInt8] = []) -> [UInt8] {
    var b: [UInt8] = []
    for v in [magic] + dims { b += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    return b + data
  }

  func testEmptySplitIsAnErrorBeforeTraining() {
    TestSupport.write(idx(IDX.imagesMagic, [0, 28, 28]), to: dir + "/t10k-images-idx3-ubyte")
    TestSupport.write(idx(IDX.labelsMagic, [0]), to: dir + "/t10k-labels-idx1-ubyte")
    XCTAssertThrowsError(try FashionMNIST.load(split: .test, directory: dir)) { error in
      XCTAssertEqual((error as? IDXError)?.kind, .empty)
      XCTAssertEqual(
        "\(error)", "IDX file '\(self.dir)/t10k-images-idx3-ubyte': holds 0 images; the Fashion-MNIST test split needs at least one")
    }
  }

  func testHugeDimensionsAreTruncationNotOverflow() {
    TestSupport.write(idx(IDX.imagesMagic, [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], [1, 2, 3]), to: dir + "/i")
    XCTAssertThrowsError(try IDX.readImages(path: dir + "/i")) { error in
      XCTAssertEqual((error as? IDXError)?.kind, .truncated)
      XCTAssertTrue("\(error)".contains("need more than the 3 data bytes present"), "\(error)")
    }
  }

  func testGzipBombIsCappedBeforeExhaustingMemory() throws {
    // 64 MiB of zeros compress to ~64 KB; with a lower cap the inflater must stop and say why.
    let path = dir + "/bomb"
    TestSupport.write(idx(IDX.labelsMagic, [1 << 26]) + [UInt8](repeating: 0, count: 1 << 26), to: path)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-f", "-n", path]
    try p.run()
    p.waitUntilExit()
    XCTAssertEqual(try IDX.readLabels(path: path + ".gz").count, 1 << 26, "under the default cap it loads")
    XCTAssertThrowsError(try IDX.contents(path: path + ".gz", limit: 1 << 20)) { error in
      XCTAssertEqual((error as? IDXError)?.kind, .badGzip)
      XCTAssertTrue("\(error)".contains("decompresses to more than 1048576 bytes"), "\(error)")
    }
  }

  func testDirectoryInPlaceOfAFile() {
    try? FileManager.default.createDirectory(atPath: dir + "/d", withIntermediateDirectories: true)
    XCTAssertThrowsError(try IDX.readLabels(path: dir + "/d")) { error in
      XCTAssertEqual("\(error)", "IDX file '\(self.dir)/d': is a directory, not a file")
    }
  }
}
