/// One 2-D convolution's geometry (PyTorch's `conv2d` parameters plus the shapes): input
/// [batch, inChannels, height, width], weight [outChannels, inChannels/groups, kh, kw],
/// output [batch, outChannels, outHeight, outWidth]. A transposed convolution is described by
/// the convolution it inverts (its output is this geometry's input).
public struct ConvolutionGeometry: Hashable, Sendable {
  public var batch, inChannels, height, width, outChannels: Int
  public var kernelHeight, kernelWidth: Int
  public var strideHeight, strideWidth, padHeight, padWidth, dilationHeight, dilationWidth: Int
  public var groups: Int

  public init(
    batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernel: (Int, Int),
    stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1
  ) {
    (self.batch, self.inChannels, self.height, self.width, self.outChannels) = (
      batch, inChannels, height, width, outChannels
    )
    (kernelHeight, kernelWidth) = kernel
    (strideHeight, strideWidth, padHeight, padWidth) = (stride.0, stride.1, padding.0, padding.1)
    (dilationHeight, dilationWidth, self.groups) = (dilation.0, dilation.1, groups)
  }

  /// PyTorch's ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1.
  public var outHeight: Int {
    Self.outSize(height, padHeight, dilationHeight, kernelHeight, strideHeight)
  }
  public var outWidth: Int { Self.outSize(width, padWidth, dilationWidth, kernelWidth, strideWidth) }

  private static func outSize(_ n: Int, _ p: Int, _ d: Int, _ k: Int, _ s: Int) -> Int {
    let span = n + 2 * p - d * (k - 1) - 1
    return span < 0 || s < 1 ? 0 : span / s + 1
  }

  public var inputShape: [Int] { [batch, inChannels, height, width] }
  public var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }
  public var weightShape: [Int] { [outChannels, inChannels / Swift.max(groups, 1), kernelHeight, kernelWidth] }

  /// Whether the numbers describe a convolution at all (positive sizes, divisible groups,
  /// a non-empty output); layers check their own arguments with clearer messages first.
  public var isValid: Bool {
    batch > 0 && inChannels > 0 && outChannels > 0 && kernelHeight > 0 && kernelWidth > 0
      && strideHeight > 0 && strideWidth > 0 && padHeight >= 0 && padWidth >= 0 && dilationHeight > 0
      && dilationWidth > 0 && groups > 0 && inChannels % groups == 0 && outChannels % groups == 0
      && outHeight > 0 && outWidth > 0
  }
}

// Convolution as three differentiable ops, each the gradient of the others (they are the
// three partial derivatives of one trilinear form Σ x·w·gy), so gradients of any order
// (WGAN-GP's penalty) stay on the backend's kernels. Each returns nil when the backend has no
// kernel for the case; once a forward ran, its backward passes are expected to run too.
extension Tensor {
  /// conv2d(x, weight) + bias on the backend's kernel, or nil when it has none for the case.
  public static func convolution(
    _ x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvolutionGeometry
  ) -> Tensor? {
    guard g.isValid, x.shape == g.inputShape, weight.shape == g.weightShape,
      bias.map({ $0.shape == [g.outChannels] }) ?? true,
      let y = x.backend.convolution(x.detach(), weight: weight.detach(), bias: bias?.detach(), g)
    else { return nil }
    let inputs = [x, weight] + (bias.map { [$0] } ?? [])
    let (needX, needW) = (x.requiresGrad, weight.requiresGrad)
    return y.recorded("ConvolutionBackward", inputs: inputs) { gy, _ in
      [
        needX ? convolutionBackwardData(gy, weight: weight, g).required("convolution backward-data", g) : nil,
        needW ? convolutionBackwardWeights(x, gradOutput: gy, g).required("convolution backward-weights", g) : nil,
      ] + (bias == nil ? [] : [gy.sum(dims: [0, 2, 3])])
    }
  }

  /// The input gradient of a convolution (a transposed convolution of gradOutput), or nil.
  public static func convolutionBackwardData(
    _ gradOutput: Tensor, weight: Tensor, _ g: ConvolutionGeometry
  ) -> Tensor? {
    guard g.isValid, gradOutput.shape == g.outputShape, weight.shape == g.weightShape,
      let gx = gradOutput.backend.convolutionBackwardData(gradOutput.detach(), weight: weight.detach(), g)
    else { return nil }
    let (needY, needW) = (gradOutput.requiresGrad, weight.requiresGrad)
    return gx.recorded("ConvolutionBackwardDataBackward", inputs: [gradOutput, weight]) { gg, _ in
      [
        needY ? convolution(gg, weight: weight, bias: nil, g).required("convolution", g) : nil,
        needW
          ? convolutionBackwardWeights(gg, gradOutput: gradOutput, g).required("convolution backward-weights", g)
          : nil,
      ]
    }
  }

  /// The weight gradient of a convolution, or nil.
  public static func convolutionBackwardWeights(
    _ x: Tensor, gradOutput: Tensor, _ g: ConvolutionGeometry
  ) -> Tensor? {
    guard g.isValid, x.shape == g.inputShape, gradOutput.shape == g.outputShape,
      let gw = x.backend.convolutionBackwardWeights(x.detach(), gradOutput: gradOutput.detach(), g)
    else { return nil }
    let (needX, needY) = (x.requiresGrad, gradOutput.requiresGrad)
    return gw.recorded("ConvolutionBackwardWeightsBackward", inputs: [x, gradOutput]) { gg, _ in
      [
        needX ? convolutionBackwardData(gradOutput, weight: gg, g).required("convolution backward-data", g) : nil,
        needY ? convolution(x, weight: gg, bias: nil, g).required("convolution", g) : nil,
      ]
    }
  }
}

extension Optional where Wrapped == Tensor {
  /// A backward pass of a convolution whose forward ran on the same backend must run too.
  fileprivate func required(_ pass: String, _ g: ConvolutionGeometry) -> Tensor {
    guard let self else {
      opFailure(LoomError("\(pass): the backend has no kernel for \(g) although it ran the forward pass"))
    }
    return self
  }
}
