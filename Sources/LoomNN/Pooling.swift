import LoomCore

private func poolGeometry(_ x: Tensor, _ k: Int, _ s: Int, _ p: Int, _ d: Int = 1) -> PatchGeometry {
  precondition(x.rank == 4, "pool2d: expected input [N, C, H, W], got \(x.shape)")
  return PatchGeometry(
    channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernel: (k, k), stride: (s, s),
    dilation: (d, d), padBefore: (p, p), padAfter: (p, p), groups: x.shape[1])
}

/// Max over k×k windows (padding counts as -inf, like PyTorch).
open class MaxPool2d: Module {
  public let kernelSize: Int, stride: Int, padding: Int, dilation: Int
  private let cache = PatchIndexCache()
  public init(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1) {
    (self.kernelSize, self.stride, self.padding, self.dilation) = (kernelSize, stride ?? kernelSize, padding, dilation)
    super.init()
  }
  override open var extraDescription: String {
    "kernel_size=\(kernelSize), stride=\(stride), padding=\(padding), dilation=\(dilation), ceil_mode=False"
  }
  override open func forward(_ x: Tensor) -> Tensor {
    let g = poolGeometry(x, kernelSize, stride, padding, dilation)
    let cols = extractPatches(x, g, padValue: -Double.infinity, cache: cache)  // [N, C, L, kk]
    return cols.max(dim: -1).values.reshape([x.shape[0], x.shape[1], g.outHeight, g.outWidth])
  }
}

/// Mean over k×k windows; padding zeros are counted (count_include_pad=True).
open class AvgPool2d: Module {
  public let kernelSize: Int, stride: Int, padding: Int
  private let cache = PatchIndexCache()
  public init(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
    (self.kernelSize, self.stride, self.padding) = (kernelSize, stride ?? kernelSize, padding)
    super.init()
  }
  override open var extraDescription: String { "kernel_size=\(kernelSize), stride=\(stride), padding=\(padding)" }
  override open func forward(_ x: Tensor) -> Tensor {
    let g = poolGeometry(x, kernelSize, stride, padding)
    let cols = extractPatches(x, g, cache: cache)
    return cols.mean(dim: -1).reshape([x.shape[0], x.shape[1], g.outHeight, g.outWidth])
  }
}

/// Nearest-neighbour upsampling of [N, C, H, W] by an integer factor.
open class Upsample: Module {
  public let scaleFactor: Int
  public init(scaleFactor: Int) {
    self.scaleFactor = scaleFactor
    super.init()
  }
  override open var extraDescription: String { "scale_factor=\(Double(scaleFactor)), mode='nearest'" }
  override open func forward(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "Upsample: expected input [N, C, H, W], got \(x.shape)")
    let s = scaleFactor
    let rows = Tensor((0..<(x.shape[2] * s)).map { Int64($0 / s) }, shape: [x.shape[2] * s])
    let cols = Tensor((0..<(x.shape[3] * s)).map { Int64($0 / s) }, shape: [x.shape[3] * s])
    return x.indexSelect(dim: 2, index: rows).indexSelect(dim: 3, index: cols)
  }
}

/// Splits dimension `dim` into `sizes` (inverse of Flatten).
open class Unflatten: Module {
  public let dim: Int, sizes: [Int]
  public init(dim: Int, sizes: [Int]) {
    (self.dim, self.sizes) = (dim, sizes)
    super.init()
  }
  override open func forward(_ x: Tensor) -> Tensor {
    let d = dim < 0 ? dim + x.rank : dim
    return x.reshape(Array(x.shape[..<d]) + sizes + Array(x.shape[(d + 1)...]))
  }
}
