import Foundation
import LoomPlot
import XCTest

final class GraphVizTests: XCTestCase {
  let dot =
    "digraph {\n\ta [label=\"x\" style=filled fillcolor=lightblue]\n\tb [label=\"y\"]\n\ta -> b\n}\n"

  func directory() throws -> String {
    let dir = NSTemporaryDirectory() + "loomgraphviz-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  func testMissingGraphvizWritesDOTAndSaysHowToInstall() throws {
    let dir = try directory()
    XCTAssertNil(GraphViz.dotExecutable(path: dir))
    XCTAssertThrowsError(try GraphViz.render(dot: dot, toPNG: dir + "/g.png", searchPath: dir)) {
      error in
      XCTAssertTrue("\(error)".contains("apt install graphviz"), "\(error)")
      XCTAssertTrue("\(error)".contains(dir + "/g.dot"), "\(error)")
    }
    XCTAssertEqual(try String(contentsOfFile: dir + "/g.dot", encoding: .utf8), dot)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/g.png"))
  }

  func testRendersPNGWhenDotIsInstalled() throws {
    guard GraphViz.dotExecutable() != nil else { throw XCTSkip("graphviz 'dot' is not installed") }
    let dir = try directory()
    try GraphViz.render(dot: dot, toPNG: dir + "/g.png")
    let png = try DecodedPNG(path: dir + "/g.png")
    XCTAssertGreaterThan(png.width, 10)
    XCTAssertGreaterThan(png.height, 10)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/g.dot"))
    XCTAssertThrowsError(try GraphViz.render(dot: "digraph { a -> }", toPNG: dir + "/bad.png")) {
      error in
      XCTAssertTrue("\(error)".contains("dot exited"), "\(error)")
    }
  }
}
