import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomTrain
import XCTest

final class ImageDatasetTests: XCTestCase {
  /// 6 images of 10×10, image i a gradient scaled by (i + 1)/6 (values in [0, 1]).
  func synthetic(noise: ImageNoise = .none, layout: ImageDataset.Layout = .flat) throws
    -> ImageDataset
  {
    var pixels: [Float] = []
    for i in 0..<6 { for j in 0..<100 { pixels.append(Float(i + 1) / 6 * Float(j) / 99) } }
    return try ImageDataset(
      pixels: pixels, classLabels: [0, 1, 2, 0, 1, 2], height: 10, width: 10, layout: layout,
      noise: noise, noiseSeed: 5)
  }

  func testCleanBatchesLayoutsAndClassTargets() throws {
    let d = try synthetic()
    let b = d.batch([4, 1])
    XCTAssertEqual(b.inputs.shape, [2, 100])
    XCTAssertEqual(b.inputs.floats, b.labels.floats)
    XCTAssertEqual(Array(b.inputs.floats[0..<100]), Array(d.pixels[400..<500]))
    var images = try synthetic(layout: .image)
    XCTAssertEqual(images.batch([0, 1, 2]).inputs.shape, [3, 1, 10, 10])
    images.target = .classes
    XCTAssertEqual(images.batch([5, 0]).labels.int64s, [2, 0])
    var normalized = try synthetic()
    normalized.normalization = (mean: 0.5, std: 0.25)
    XCTAssertEqual(
      normalized.batch([2]).inputs.floats, d.batch([2]).inputs.floats.map { ($0 - 0.5) * 4 })
    XCTAssertEqual(d.prefix(2).count, 2)
    XCTAssertEqual(d.prefix(2).pixels, Array(d.pixels[0..<200]))
  }

  func testMaskingZeroesTheExactFraction() throws {
    var pixels = [Float](repeating: 0.7, count: 3 * 784)
    pixels[5] = 0.2
    let d = try ImageDataset(
      pixels: pixels, classLabels: [0, 1, 2], height: 28, width: 28, noise: .masking(fraction: 0.25)
    )
    let b = d.batch([0, 1, 2], epoch: 3)
    let noisy = b.inputs.floats
    for r in 0..<3 {
      let row = noisy[(r * 784)..<((r + 1) * 784)]
      XCTAssertEqual(row.filter { $0 == 0 }.count, 196)  // round(0.25 · 784)
      XCTAssertEqual(row.filter { $0 != 0 }.count, 588)
    }
    XCTAssertTrue(noisy.allSatisfy { $0 == 0 || $0 == 0.7 || $0 == 0.2 })
    XCTAssertEqual(b.labels.floats, pixels, "labels stay clean")
    // Reproducible per (seed, epoch, index) whatever the batch; fresh in another epoch.
    XCTAssertEqual(Array(noisy[784..<1568]), d.batch([1], epoch: 3).inputs.floats)
    XCTAssertNotEqual(Array(noisy[784..<1568]), d.batch([1], epoch: 4).inputs.floats)
  }

  func testGaussianNoiseHasTheRequestedStdAndStaysInRange() throws {
    let d = try ImageDataset(
      pixels: [Float](repeating: 0.5, count: 20 * 784), classLabels: Array(repeating: 0, count: 20),
      height: 28, width: 28,
      noise: .gaussian(std: 0.1))
    let x = d.batch(Array(0..<20), epoch: 0).inputs.floats.map(Double.init)
    let mean = x.reduce(0, +) / Double(x.count)
    let std = (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)).squareRoot()
    XCTAssertEqual(mean, 0.5, accuracy: 0.003)
    XCTAssertEqual(std, 0.1, accuracy: 0.003)
    let heavy = try ImageDataset(
      pixels: [0, 1, 0.5, 0.5], classLabels: [0], height: 2, width: 2, noise: .gaussian(std: 3))
    for e in 0..<20 {
      XCTAssertTrue(heavy.batch([0], epoch: e).inputs.floats.allSatisfy { (0...1).contains($0) })
    }
  }

  func testBadDatasetsThrow() {
    XCTAssertThrowsError(
      try ImageDataset(pixels: [0, 1, 2], classLabels: [0], height: 2, width: 2)
    ) {
      XCTAssertTrue("\($0)".contains("do not make 1 images of 2×2"))
    }
    XCTAssertThrowsError(try synthetic(noise: .gaussian(std: -1))) {
      XCTAssertTrue("\($0)".contains("std must be >= 0"))
    }
    XCTAssertThrowsError(
      try ImageDataset(
        pixels: [0, 0, 0, 0], classLabels: [0], height: 2, width: 2,
        normalization: (mean: 0, std: 0))
    ) { XCTAssertTrue("\($0)".contains("std must be > 0")) }
    XCTAssertThrowsError(try ImageDataset.fashionMNIST(split: .train, directory: "/nonexistent")) {
      XCTAssertTrue("\($0)".contains("dataset-fashion-mnist"))
    }
  }

  func testFashionMNISTTestSplit() throws {
    try XCTSkipUnless(
      FileManager.default.fileExists(
        atPath: FashionMNIST.defaultDirectory + "/t10k-images-idx3-ubyte.gz"),
      "dataset-fashion-mnist is not installed")
    let d = try ImageDataset.fashionMNIST(split: .test)
    XCTAssertEqual(d.count, 10_000)
    XCTAssertEqual(d.classLabels.count, 10_000)
    XCTAssertEqual(Set(d.classLabels), Set(0..<10))
    XCTAssertEqual(d.pixels.min(), 0)
    XCTAssertEqual(d.pixels.max(), 1)
    let loader = try DataLoader(d, batchSize: 128, shuffle: true, seed: 0)
    XCTAssertEqual(loader.count, 79)
    let b = try XCTUnwrap(loader.epoch(0).first { _ in true })
    XCTAssertEqual(b.inputs.shape, [128, 784])
  }
}
