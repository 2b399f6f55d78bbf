import LoomCore
import LoomTrain

/// Grayscale images for diffusion training: pixels scaled from [0, 1] to [−1, 1] (diffusers'
/// `Normalize([0.5], [0.5])`) and centred on an `imageSize` square padded with −1 (the background),
/// so 28×28 Fashion-MNIST becomes 32×32 for a U-Net that halves three times. Batches hold
/// `pixel_values` [B, 1, S, S] and `class_labels` (int64).
public struct DiffusionImageDataset: TrainingDataset, Sendable {
  public static let classLabelsKey = "class_labels"
  public let images: ImageDataset
  public let imageSize: Int
  /// Number of classes in the data (labels are 0..<numClasses).
  public let numClasses: Int

  /// `numClasses`: the dataset's classes (nil: one more than the largest label present).
  public init(_ images: ImageDataset, imageSize: Int, numClasses: Int? = nil) throws {
    guard imageSize >= images.height, imageSize >= images.width, imageSize <= 4096 else {
      throw LoomError(
        "image size \(imageSize) is smaller than the \(images.height)×\(images.width) images (Loom pads, it does not "
          + "crop); use at least \(max(images.height, images.width))")
    }
    let classes = numClasses ?? (images.classLabels.max() ?? -1) + 1
    if let bad = images.classLabels.first(where: { $0 < 0 || $0 >= classes }) {
      throw LoomError("image dataset: class label \(bad) is out of range 0..<\(classes)")
    }
    self.images = images
    self.imageSize = imageSize
    self.numClasses = classes
  }

  public var count: Int { images.count }

  /// Images at `indices` in [−1, 1], padded: [n, 1, S, S].
  public func pixels(_ indices: [Int]) -> Tensor {
    let (h, w, s) = (images.height, images.width, imageSize)
    let (top, left) = ((s - h) / 2, (s - w) / 2)
    var out = [Float](repeating: -1, count: indices.count * s * s)
    images.pixels.withUnsafeBufferPointer { src in
      for (row, i) in indices.enumerated() {
        precondition(i >= 0 && i < count, "Loom: image index \(i) is out of range 0..<\(count)")
        for y in 0..<h {
          let from = i * h * w + y * w
          let to = row * s * s + (y + top) * s + left
          for x in 0..<w { out[to + x] = src[from + x] * 2 - 1 }
        }
      }
    }
    return Tensor(out, shape: [indices.count, 1, s, s])
  }

  public func batch(_ indices: [Int]) -> Batch {
    Batch(
      [
        Batch.Key.pixelValues: pixels(indices),
        Self.classLabelsKey: Tensor(indices.map { Int64(images.classLabels[$0]) }),
      ], mainInputName: Batch.Key.pixelValues)
  }
}
