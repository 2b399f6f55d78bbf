import LoomCore
import LoomIO
import LoomNN

/// Grayscale images as a `TrainingDataset` (Fashion-MNIST, MNIST): pixels as floats in
/// [0, 1] (converted once, at load), optionally normalised with a mean and std,
/// flattened to [N, H·W] or kept as [N, 1, H, W].
///
/// Batches hold `pixel_values` and `labels`. For autoencoders (`target: .images`)
/// `pixel_values` are the images after `noise` and `labels` the clean images; for
/// classifiers (`target: .classes`) `labels` are the
/// class ids (int64). Noise is drawn per example from (noiseSeed, epoch, index), so it
/// is fresh each epoch yet reproducible, and safe to collate on a worker thread.
public struct ImageDataset: TrainingDataset, Sendable {
  public enum Layout: Sendable { case flat, image }
  public enum Target: Sendable { case images, classes }

  /// [count · height · width] pixels in [0, 1], image after image.
  public let pixels: [Float]
  /// Class of every image, for classifiers and latent-space plots.
  public let classLabels: [Int]
  public let height: Int, width: Int
  public var layout: Layout
  public var target: Target
  /// Applied after noise: (x − mean) / std.
  public var normalization: (mean: Float, std: Float)?
  public var noise: ImageNoise
  public var noiseSeed: UInt64

  public init(
    pixels: [Float], classLabels: [Int], height: Int, width: Int, layout: Layout = .flat,
    target: Target = .images,
    normalization: (mean: Float, std: Float)? = nil, noise: ImageNoise = .none,
    noiseSeed: UInt64 = 0
  ) throws {
    guard height > 0, width > 0, pixels.count == classLabels.count * height * width else {
      throw LoomError(
        "image dataset: \(pixels.count) pixels do not make \(classLabels.count) images of \(height)×\(width)"
      )
    }
    if let n = normalization, !(n.std > 0) {
      throw LoomError("image dataset: normalisation std must be > 0, got \(n.std)")
    }
    try noise.validate()
    self.pixels = pixels
    self.classLabels = classLabels
    (self.height, self.width) = (height, width)
    (self.layout, self.target, self.normalization, self.noise, self.noiseSeed) = (
      layout, target, normalization, noise, noiseSeed
    )
  }

  /// Converts IDX bytes to floats in [0, 1] once.
  public init(
    _ idx: IDXDataset, layout: Layout = .flat, target: Target = .images,
    normalization: (mean: Float, std: Float)? = nil,
    noise: ImageNoise = .none, noiseSeed: UInt64 = 0
  ) throws {
    let n = idx.images.pixels.count
    let floats = [Float](unsafeUninitializedCapacity: n) { out, count in
      idx.images.pixels.withUnsafeBufferPointer { src in
        for i in 0..<n { out[i] = Float(src[i]) * (1 / 255) }
      }
      count = n
    }
    try self.init(
      pixels: floats, classLabels: idx.labels.labels.map(Int.init), height: idx.images.rows,
      width: idx.images.cols,
      layout: layout, target: target, normalization: normalization, noise: noise,
      noiseSeed: noiseSeed)
  }

  /// Fashion-MNIST from Debian's `dataset-fashion-mnist` (or `directory`).
  public static func fashionMNIST(
    split: DatasetSplit, directory: String = FashionMNIST.defaultDirectory, layout: Layout = .flat,
    target: Target = .images, normalization: (mean: Float, std: Float)? = nil,
    noise: ImageNoise = .none,
    noiseSeed: UInt64 = 0
  ) throws -> ImageDataset {
    try ImageDataset(
      FashionMNIST.load(split: split, directory: directory), layout: layout, target: target,
      normalization: normalization,
      noise: noise, noiseSeed: noiseSeed)
  }

  /// MNIST digits in the same IDX layout.
  public static func mnist(
    split: DatasetSplit, directory: String = MNIST.defaultDirectory, layout: Layout = .flat,
    target: Target = .images,
    normalization: (mean: Float, std: Float)? = nil, noise: ImageNoise = .none,
    noiseSeed: UInt64 = 0
  ) throws -> ImageDataset {
    try ImageDataset(
      MNIST.load(split: split, directory: directory), layout: layout, target: target,
      normalization: normalization,
      noise: noise, noiseSeed: noiseSeed)
  }

  public var count: Int { classLabels.count }
  public var pixelsPerImage: Int { height * width }

  /// The first `n` images (e.g. a quick run on a subset).
  public func prefix(_ n: Int) -> ImageDataset {
    let k = Swift.max(0, Swift.min(n, count))
    return try! ImageDataset(
      copying: self, pixels: Array(pixels[0..<(k * pixelsPerImage)]),
      classLabels: Array(classLabels[0..<k]))
  }

  private init(copying d: ImageDataset, pixels: [Float], classLabels: [Int]) throws {
    try self.init(
      pixels: pixels, classLabels: classLabels, height: d.height, width: d.width, layout: d.layout,
      target: d.target,
      normalization: d.normalization, noise: d.noise, noiseSeed: d.noiseSeed)
  }

  func shape(_ n: Int) -> [Int] { layout == .flat ? [n, pixelsPerImage] : [n, 1, height, width] }

  /// Images at `indices` (clean, or with this epoch's noise), normalised: one tensor.
  public func images(_ indices: [Int], epoch: Int = 0, noisy: Bool = false) -> Tensor {
    let d = pixelsPerImage
    for i in indices {
      precondition(i >= 0 && i < count, "Loom: image index \(i) is out of range 0..<\(count)")
    }
    let addsNoise = noisy && noise != .none
    if !addsNoise && normalization == nil {
      // Clean images: the backend gathers the rows straight from the pixel array.
      let t = Tensor(empty: shape(indices.count), dtype: .float32)
      pixels.withUnsafeBytes { src in
        t.backend.uploadRows(src, rowBytes: d * MemoryLayout<Float>.stride, rows: indices, into: t)
      }
      return t
    }
    // Assembled on the host (noise per example), then uploaded as one tensor.
    let n = indices.count * d
    let values = [Float](unsafeUninitializedCapacity: n) { out, initialized in
      pixels.withUnsafeBufferPointer { src in
        for (row, i) in indices.enumerated() {
          let dst = UnsafeMutableBufferPointer(rebasing: out[(row * d)..<((row + 1) * d)])
          dst.baseAddress!.initialize(from: src.baseAddress! + i * d, count: d)
          if addsNoise {
            noise.apply(dst, generator: ImageNoise.generator(seed: noiseSeed, epoch: epoch, index: i))
          }
        }
      }
      if let (mean, std) = normalization {
        let inv = 1 / std
        for k in 0..<n { out[k] = (out[k] - mean) * inv }
      }
      initialized = n
    }
    return Tensor(values, shape: shape(indices.count))
  }

  public func batch(_ indices: [Int]) -> Batch { batch(indices, epoch: 0) }

  public func batch(_ indices: [Int], epoch: Int) -> Batch {
    switch target {
    case .images:
      let clean = images(indices)
      return Batch([
        Batch.Key.pixelValues: noise == .none ? clean : images(indices, epoch: epoch, noisy: true),
        Batch.Key.labels: clean,
      ])
    case .classes:
      return Batch([
        Batch.Key.pixelValues: images(indices, epoch: epoch, noisy: true),
        Batch.Key.labels: Tensor(indices.map { Int64(classLabels[$0]) }),
      ])
    }
  }
}
