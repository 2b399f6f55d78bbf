import LoomCore

/// Batch normalisation over all dims but the channel dim 1 ([N, C] or [N, C, …]).
/// Training: batch statistics (biased variance) and running stats updated with the
/// unbiased variance, like PyTorch; eval: running statistics.
open class BatchNorm: Module {
  @Parameter public var weight: Tensor?
  @Parameter public var bias: Tensor?
  @Buffer public var runningMean: Tensor
  @Buffer public var runningVar: Tensor
  @Buffer public var numBatchesTracked: Tensor
  public let eps: Double, momentum: Double

  public init(_ features: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true) {
    weight = affine ? Init.ones([features]) : nil
    bias = affine ? Init.zeros([features]) : nil
    runningMean = Tensor.zeros([features])
    runningVar = Tensor.ones([features])
    numBatchesTracked = Tensor.zeros([], dtype: .int64)
    (self.eps, self.momentum) = (eps, momentum)
    super.init()
  }

  override public var keyOverrides: [String: String] {
    ["runningMean": "running_mean", "runningVar": "running_var", "numBatchesTracked": "num_batches_tracked"]
  }

  override open var extraDescription: String {
    "\(runningMean.shape[0]), eps=\(eps), momentum=\(momentum), affine=\(pythonBool(weight != nil)), "
      + "track_running_stats=True"
  }

  override open func forward(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 2, "BatchNorm: expected [N, C, …], got \(x.shape)")
    let c = x.shape[1]
    let dims = [0] + Array(2..<x.rank)
    var view = [Int](repeating: 1, count: x.rank)
    view[1] = c
    let mean: Tensor, variance: Tensor
    if training {
      mean = x.mean(dims: dims, keepDim: true)
      variance = x.variance(dims: dims, unbiased: false, keepDim: true)
      let n = Double(x.count / c)
      noGrad {
        let m = mean.detach().reshape([c]).to(runningMean.dtype)
        let v = variance.detach().reshape([c]).to(runningVar.dtype) * (n / Swift.max(n - 1, 1))
        runningMean = runningMean * (1 - momentum) + m * momentum
        runningVar = runningVar * (1 - momentum) + v * momentum
        numBatchesTracked = numBatchesTracked + Tensor.ones([], dtype: .int64, device: numBatchesTracked.device)
      }
    } else {
      mean = runningMean.to(x.dtype).reshape(view)
      variance = runningVar.to(x.dtype).reshape(view)
    }
    var y = (x - mean) * (variance + eps).rsqrt()
    if let weight { y = y * weight.reshape(view) }
    if let bias { y = y + bias.reshape(view) }
    return y
  }
}

open class BatchNorm1d: BatchNorm {}
open class BatchNorm2d: BatchNorm {}

/// Group normalisation of [N, C, …] over C/groups channels and all spatial positions.
open class GroupNorm: Module {
  @Parameter public var weight: Tensor?
  @Parameter public var bias: Tensor?
  public let groups: Int, eps: Double, channels: Int

  public init(groups: Int, channels: Int, eps: Double = 1e-5, affine: Bool = true) {
    precondition(channels % groups == 0, "GroupNorm: channels \(channels) not divisible by groups \(groups)")
    weight = affine ? Init.ones([channels]) : nil
    bias = affine ? Init.zeros([channels]) : nil
    (self.groups, self.eps, self.channels) = (groups, eps, channels)
    super.init()
  }

  override open var extraDescription: String {
    "\(groups), \(channels), eps=\(eps), affine=\(pythonBool(weight != nil))"
  }

  override open func forward(_ x: Tensor) -> Tensor {
    let n = x.shape[0], c = x.shape[1]
    let g = x.reshape([n, groups, -1])
    let mean = g.mean(dim: 2, keepDim: true)
    let variance = g.variance(dims: [2], unbiased: false, keepDim: true)
    var y = ((g - mean) * (variance + eps).rsqrt()).reshape(x.shape)
    var view = [Int](repeating: 1, count: x.rank)
    view[1] = c
    if let weight { y = y * weight.reshape(view) }
    if let bias { y = y + bias.reshape(view) }
    return y
  }
}
