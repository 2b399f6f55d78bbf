import Foundation
import LoomPlot

/// The pictures `loom train ae|dae|vae` writes: loss curves per epoch, originals above
/// reconstructions, samples from the prior and the latent space coloured by class.
enum ImageReports {
  static let fashionClasses = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]

  /// Train and test loss per epoch.
  static func lossCurves(epochs: [Double], train: [Double], test: [Double], lossName: String, to path: String) throws {
    var plot = LinePlot(title: "Loss per epoch", xLabel: "epoch", yLabel: lossName)
    plot.add("train", x: epochs, y: train)
    plot.add("test", x: epochs, y: test, markers: true)
    try plot.write(to: path)
  }

  /// Rows of originals, (noisy inputs,) and reconstructions, 28×28 images in [0, 1].
  static func reconstructions(rows: [(label: String, images: [[Float]])], to path: String) throws {
    let columns = rows.first?.images.count ?? 0
    let grid = ImageGrid(
      images: rows.flatMap(\.images), imageWidth: 28, imageHeight: 28, columns: columns, rowLabels: rows.map(\.label),
      title: rows.count > 2 ? "Originals, noisy inputs and reconstructions" : "Originals and reconstructions")
    try grid.write(to: path)
  }

  /// A grid of generated images.
  static func samples(_ images: [[Float]], columns: Int, title: String, to path: String) throws {
    try ImageGrid(images: images, imageWidth: 28, imageHeight: 28, columns: columns, title: title).write(to: path)
  }

  /// Codes [n][d] as a scatter coloured by class: the code itself when d = 2, otherwise
  /// its first two principal components.
  static func latent(codes: [[Double]], labels: [Int], to path: String) throws {
    let (xs, ys, axes) = codes.first?.count == 2
      ? (codes.map { $0[0] }, codes.map { $0[1] }, ("z₁", "z₂")) : principalPlane(codes)
    var plot = ScatterPlot(
      title: codes.first?.count == 2 ? "Latent space (test set)" : "Latent space, first two principal components (test set)",
      xLabel: axes.0, yLabel: axes.1, classNames: fashionClasses)
    plot.add(x: xs, y: ys, labels: labels)
    try plot.write(to: path)
  }

  /// Projections of centred points on the two leading eigenvectors of their covariance
  /// (power iteration with deflation; the codes are low-dimensional).
  static func principalPlane(_ points: [[Double]]) -> ([Double], [Double], (String, String)) {
    guard let d = points.first?.count, d > 0 else { return ([], [], ("PC1", "PC2")) }
    let n = Double(points.count)
    var mean = [Double](repeating: 0, count: d)
    for p in points { for j in 0..<d { mean[j] += p[j] / n } }
    var cov = [Double](repeating: 0, count: d * d)
    for p in points {
      for i in 0..<d {
        let a = p[i] - mean[i]
        for j in 0..<d { cov[i * d + j] += a * (p[j] - mean[j]) / n }
      }
    }
    func leading(_ m: [Double]) -> [Double] {
      var v = (0..<d).map { 1.0 + Double($0) * 0.01 }
      for _ in 0..<500 {
        var w = [Double](repeating: 0, count: d)
        for i in 0..<d { for j in 0..<d { w[i] += m[i * d + j] * v[j] } }
        let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { break }
        v = w.map { $0 / norm }
      }
      return v
    }
    let v1 = leading(cov)
    var lambda1 = 0.0
    for i in 0..<d { for j in 0..<d { lambda1 += v1[i] * cov[i * d + j] * v1[j] } }
    var deflated = cov
    for i in 0..<d { for j in 0..<d { deflated[i * d + j] -= lambda1 * v1[i] * v1[j] } }
    let v2 = d > 1 ? leading(deflated) : [Double](repeating: 0, count: d)
    func project(_ v: [Double]) -> [Double] {
      points.map { p in (0..<d).reduce(0) { $0 + (p[$1] - mean[$1]) * v[$1] } }
    }
    return (project(v1), project(v2), ("PC1", "PC2"))
  }
}
