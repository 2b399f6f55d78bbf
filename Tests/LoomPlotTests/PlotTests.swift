import Foundation
import XCTest
import LoomPlot

/// Renders each chart kind, decodes the PNG back through Cairo and checks size and known
/// pixels. Set LOOMPLOT_SAMPLES=/some/dir to keep the PNGs for a look.
final class PlotTests: XCTestCase {
  var dir = ""
  override func setUp() {
    if let keep = ProcessInfo.processInfo.environment["LOOMPLOT_SAMPLES"] {
      dir = keep
    } else {
      dir = NSTemporaryDirectory() + "loomplot-\(UUID().uuidString)"
    }
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() {
    if ProcessInfo.processInfo.environment["LOOMPLOT_SAMPLES"] == nil { try? FileManager.default.removeItem(atPath: dir) }
  }

  func close(_ p: (r: UInt8, g: UInt8, b: UInt8, a: UInt8), _ c: Color, tol: Int = 40) -> Bool {
    abs(Int(p.r) - Int(c.r * 255)) <= tol && abs(Int(p.g) - Int(c.g * 255)) <= tol && abs(Int(p.b) - Int(c.b * 255)) <= tol
  }

  /// True if some pixel within `radius` of (x, y) has colour `c`.
  func near(_ img: DecodedPNG, _ x: Double, _ y: Double, _ c: Color, radius: Int = 2) -> Bool {
    let cx = Int(x.rounded()), cy = Int(y.rounded())
    for dy in -radius...radius {
      for dx in -radius...radius {
        let px = cx + dx, py = cy + dy
        if px >= 0, py >= 0, px < img.width, py < img.height, close(img.pixel(px, py), c) { return true }
      }
    }
    return false
  }

  func countColor(_ img: DecodedPNG, _ c: Color) -> Int {
    var n = 0
    for y in 0..<img.height { for x in 0..<img.width where close(img.pixel(x, y), c, tol: 20) { n += 1 } }
    return n
  }

  func testLossCurves() throws {
    let epochs = (1...20).map(Double.init)
    let train = epochs.map { 0.09 * exp(-$0 / 5) + 0.021 }
    let test = epochs.map { 0.085 * exp(-$0 / 6) + 0.024 }
    var p = LinePlot(title: "Autoencoder loss", xLabel: "epoch", yLabel: "MSE loss")
    p.add("train", x: epochs, y: train)
    p.add("test", x: epochs, y: test, dashed: true)
    let path = dir + "/loss.png"
    let f = try p.write(to: path)
    let img = try DecodedPNG(path: path)
    XCTAssertEqual(img.width, 900)
    XCTAssertEqual(img.height, 560)
    // Data range is inside the nice axis range.
    XCTAssertLessThanOrEqual(f.yRange.lowerBound, train.min()!)
    XCTAssertGreaterThanOrEqual(f.yRange.upperBound, train.max()!)
    // Each curve passes through its points (markers drawn there) in its palette colour.
    for (k, e) in epochs.enumerated() where k % 4 == 0 {
      let q = f.point(x: e, y: train[k])
      XCTAssertTrue(near(img, q.x, q.y, Color.palette(0)), "train point \(k)")
      let t = f.point(x: e, y: test[k])
      XCTAssertTrue(near(img, t.x, t.y, Color.palette(1)), "test point \(k)")
    }
    // Background stays white away from the data, and text/axes are present (dark pixels).
    XCTAssertEqual(img.pixel(2, 2).r, 255)
    XCTAssertGreaterThan(countColor(img, Color(hex: 0x222222)), 300)
  }

  func testLogYAndLongSeries() throws {
    let steps = (1...2000).map(Double.init)
    var p = LinePlot(title: "GPT training loss", xLabel: "step", yLabel: "loss (log scale)", logY: true)
    p.add("train", x: steps, y: steps.map { 4.2 * pow($0, -0.3) + 0.9 + 0.05 * sin($0) })
    p.add("eval", x: stride(from: 100.0, through: 2000, by: 100).map { $0 }, y: stride(from: 100.0, through: 2000, by: 100).map { 4.2 * pow($0, -0.3) + 1.0 })
    p.add("bad", x: [1, 2], y: [.nan, -1])  // skipped on a log axis, must not crash
    let path = dir + "/loss_log.png"
    let f = try p.write(to: path)
    let img = try DecodedPNG(path: path)
    XCTAssertEqual(img.width, 900)
    let q = f.point(x: 1000, y: 4.2 * pow(1000, -0.3) + 1.0)
    XCTAssertTrue(near(img, q.x, q.y, Color.palette(1), radius: 3))
    XCTAssertGreaterThan(countColor(img, Color.palette(0)), 1000)
  }

  func testDegenerateSeriesDoNotCrash() throws {
    var p = LinePlot()
    p.add("flat", x: [1], y: [0.5])
    try p.write(to: dir + "/one_point.png")
    try LinePlot(title: "empty").write(to: dir + "/empty.png")
    XCTAssertEqual(try DecodedPNG(path: dir + "/empty.png").height, 560)
    XCTAssertThrowsError(try LinePlot(width: 0).write(to: dir + "/zero.png"))
    let e = try? LinePlot().write(to: dir + "/no/such/dir/x.png")
    XCTAssertNil(e)
  }

  func testImageGridOriginalsAboveReconstructions() throws {
    // 8 "originals": a bright square whose position moves; "reconstructions": blurred copies.
    let n = 8, side = 28
    var originals: [[Float]] = [], recons: [[Float]] = []
    for i in 0..<n {
      var img = [Float](repeating: 0, count: side * side)
      for y in 6..<22 { for x in 6..<22 { img[y * side + x] = Float(x + y - 12) / 30 + Float(i) / 40 } }
      originals.append(img)
      recons.append(img.map { $0 * 0.8 + 0.05 })
    }
    let grid = ImageGrid(images: originals + recons, imageWidth: side, imageHeight: side, columns: n,
                         rowLabels: ["Original", "Reconstruction"], title: "Fashion-MNIST reconstructions", scale: 3)
    let path = dir + "/reconstructions.png"
    let L = try grid.write(to: path)
    let img = try DecodedPNG(path: path)
    XCTAssertEqual(img.width, L.width)
    XCTAssertEqual(img.height, L.height)
    XCTAssertEqual(grid.rows, 2)
    // Pixel (x, y) of image i is a scale×scale block at its cell origin.
    for (row, col) in [(0, 0), (0, 7), (1, 3)] {
      let o = L.origin(row: row, col: col)
      let source = (row == 0 ? originals : recons)[col]
      for (x, y) in [(0, 0), (10, 12), (21, 21)] {
        let want = UInt8((min(max(source[y * side + x], 0), 1) * 255).rounded())
        let px = img.pixel(o.x + x * 3 + 1, o.y + y * 3 + 1)
        XCTAssertEqual(px.r, want, "cell \(row),\(col) pixel \(x),\(y)")
        XCTAssertEqual(px.g, want)
      }
    }
  }

  func testImageGridRGBLayouts() throws {
    // One red, one green, one blue image in CHW, and the same in HWC.
    func chw(_ c: Int) -> [Float] { (0..<3).flatMap { ch in [Float](repeating: ch == c ? 1 : 0, count: 4) } }
    func hwc(_ c: Int) -> [Float] { (0..<4).flatMap { _ in (0..<3).map { $0 == c ? Float(1) : 0 } } }
    for (planar, make) in [(true, chw), (false, hwc)] {
      let path = dir + "/rgb_\(planar).png"
      let L = try ImageGrid(images: (0..<3).map(make), imageWidth: 2, imageHeight: 2, channels: .rgb(planar: planar),
                            columns: 3, scale: 10).write(to: path)
      let img = try DecodedPNG(path: path)
      for c in 0..<3 {
        let o = L.origin(row: 0, col: c)
        let p = img.pixel(o.x + 5, o.y + 5)
        XCTAssertEqual([p.r, p.g, p.b], (0..<3).map { $0 == c ? 255 : 0 }, "planar \(planar) channel \(c)")
      }
    }
    XCTAssertThrowsError(try ImageGrid(images: [[0, 1]], imageWidth: 2, imageHeight: 2, columns: 1).write(to: dir + "/bad.png")) {
      XCTAssertTrue(String(describing: $0).contains("bad.png"))
    }
  }

  func testScatterByClass() throws {
    var s = ScatterPlot(title: "VAE latent space (test set)", xLabel: "z₁", yLabel: "z₂",
                        classNames: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
    var rng = SplitMix(seed: 7)
    var xs: [Double] = [], ys: [Double] = [], ls: [Int] = []
    for k in 0..<10 {
      let cx = 3 * cos(Double(k) * 0.628), cy = 3 * sin(Double(k) * 0.628)
      for _ in 0..<150 {
        xs.append(cx + rng.gaussian() * 0.5)
        ys.append(cy + rng.gaussian() * 0.5)
        ls.append(k)
      }
    }
    s.add(x: xs, y: ys, labels: ls)
    let path = dir + "/latent.png"
    let f = try s.write(to: path)
    let img = try DecodedPNG(path: path)
    XCTAssertEqual(img.width, 860)
    XCTAssertEqual(img.height, 680)
    // Class 0's cluster centre is painted in (a blend of) class 0's colour.
    let q = f.point(x: 3, y: 0)
    var hits = 0
    for dy in -6...6 { for dx in -6...6 {
      let p = img.pixel(Int(q.x) + dx, Int(q.y) + dy)
      if close(p, Color.palette(0), tol: 70) { hits += 1 }
    } }
    XCTAssertGreaterThan(hits, 20)
    for k in 0..<10 { XCTAssertGreaterThan(countColor(img, Color.palette(k)), 20, "class \(k)") }
  }
}

/// Deterministic test data.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
  mutating func gaussian() -> Double { sqrt(-2 * log(max(uniform(), 1e-300))) * cos(2 * .pi * uniform()) }
}
