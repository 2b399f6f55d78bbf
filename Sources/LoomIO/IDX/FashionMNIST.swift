import Foundation

/// An IDX image/label pair with matching counts.
public struct IDXDataset: Sendable {
  public let images: IDXImages
  public let labels: IDXLabels
  public var count: Int { images.count }

  /// Loads `imagesPath` and `labelsPath`, checks the counts agree and every label is below
  /// `classCount`. A missing file throws an error naming it and the package that provides it.
  public static func load(imagesPath: String, labelsPath: String, classCount: Int = 10,
                          datasetName: String, installHint: String) throws -> IDXDataset {
    for p in [imagesPath, labelsPath] where !FileManager.default.fileExists(atPath: p) {
      throw IDXError(.missingFile, path: p, "\(datasetName) file not found; \(installHint)")
    }
    let images = try IDX.readImages(path: imagesPath)
    let labels = try IDX.readLabels(path: labelsPath)
    // An empty split would train on nothing and fail only when evaluating or plotting.
    guard images.count > 0 else {
      throw IDXError(.empty, path: imagesPath, "holds 0 images; the \(datasetName) needs at least one")
    }
    guard images.count == labels.count else {
      throw IDXError(.countMismatch, path: labelsPath,
        "has \(labels.count) labels but '\(imagesPath)' has \(images.count) images")
    }
    if let k = labels.labels.firstIndex(where: { Int($0) >= classCount }) {
      throw IDXError(.badLabel, path: labelsPath,
        "label \(labels.labels[k]) at index \(k) is not a class in 0..<\(classCount)")
    }
    return IDXDataset(images: images, labels: labels)
  }
}

public enum DatasetSplit: String, Sendable, CaseIterable {
  case train, test
  /// File-name prefix used by the MNIST family.
  var idxPrefix: String { self == .train ? "train" : "t10k" }
}

/// Zalando's Fashion-MNIST (28×28 grayscale, 60,000 train / 10,000 test, 10 classes), read
/// from Debian's `dataset-fashion-mnist` package.
public enum FashionMNIST {
  public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
  public static let installHint = "install it with `apt-get install dataset-fashion-mnist` (or pass the directory holding the IDX files)"
  public static let classNames = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]

  /// Loads a split from `directory`, accepting `{train,t10k}-{images-idx3,labels-idx1}-ubyte`
  /// with or without `.gz`.
  public static func load(split: DatasetSplit, directory: String = defaultDirectory) throws -> IDXDataset {
    try loadMNISTLayout(split: split, directory: directory, name: "Fashion-MNIST", hint: installHint)
  }
}

/// LeCun's MNIST digits in the same layout (used when present).
public enum MNIST {
  public static let defaultDirectory = "/usr/share/datasets/mnist"
  public static let installHint = "put the MNIST IDX files there (e.g. Debian's `dataset-mnist` package where available) or pass their directory"

  public static func load(split: DatasetSplit, directory: String = defaultDirectory) throws -> IDXDataset {
    try loadMNISTLayout(split: split, directory: directory, name: "MNIST", hint: installHint)
  }
}

func loadMNISTLayout(split: DatasetSplit, directory: String, name: String, hint: String) throws -> IDXDataset {
  func resolve(_ stem: String) -> String {
    let plain = "\(directory)/\(split.idxPrefix)-\(stem)-ubyte"
    let gz = plain + ".gz"
    if FileManager.default.fileExists(atPath: gz) { return gz }
    if FileManager.default.fileExists(atPath: plain) { return plain }
    return gz  // reported as missing
  }
  return try IDXDataset.load(imagesPath: resolve("images-idx3"), labelsPath: resolve("labels-idx1"),
                             datasetName: "\(name) \(split.rawValue) split", installHint: hint)
}
