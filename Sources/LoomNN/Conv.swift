import LoomCore

/// Convolution as patches (one differentiable gather) times the weight matrix.
/// x [N, C, H, W], weight [O, C/groups, kh, kw] → [N, O, OH, OW].
func convolve(
  _ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: PatchGeometry, cache: PatchIndexCache?
) -> Tensor {
  let n = x.shape[0]
  let o = weight.shape[0]
  precondition(
    x.shape[1] == g.channels, "conv: input has \(x.shape[1]) channels, layer expects \(g.channels)")
  let cols = extractPatches(x, g, cache: cache)  // [N, G, L, Cg·kk]
  let w = weight.reshape([g.groups, o / g.groups, -1]).transpose(-1, -2)  // [G, Cg·kk, Og]
  let y = cols.matmul(w).permute(0, 1, 3, 2).reshape([n, o, g.outHeight, g.outWidth])
  guard let bias else { return y }
  return y + bias.reshape([1, o, 1, 1])
}

private func defaultBias(_ count: Int, fanIn: Int, _ on: Bool, _ generator: Generator) -> Tensor? {
  on
    ? Init.uniform(
      [count], bound: 1 / Double(Swift.max(fanIn, 1)).squareRoot(), generator: generator) : nil
}

/// Stateless layer functions (like torch.nn.functional).
public enum Functional {
  /// 2-D convolution of x [N, C, H, W] with weight [O, C/groups, kh, kw].
  public static func conv2d(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0),
    dilation: (Int, Int) = (1, 1), groups: Int = 1
  ) -> Tensor {
    conv2d(
      x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
      groups: groups, cache: nil)
  }

  static func conv2d(
    _ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
    dilation: (Int, Int),
    groups: Int, cache: PatchIndexCache?
  ) -> Tensor {
    precondition(x.rank == 4, "conv2d: expected input [N, C, H, W], got \(x.shape)")
    if let y = backendConvolution(
      x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    {
      return y
    }
    let g = PatchGeometry(
      channels: x.shape[1], height: x.shape[2], width: x.shape[3],
      kernel: (weight.shape[2], weight.shape[3]),
      stride: stride, dilation: dilation, padBefore: padding, padAfter: padding, groups: groups)
    return convolve(x, weight: weight, bias: bias, geometry: g, cache: cache)
  }
}

/// 2-D convolution with PyTorch's parameters and default initialisation.
open class Conv2d: Module {
  @Parameter public var weight: Tensor
  @Parameter public var bias: Tensor?
  public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int
  private let cache = PatchIndexCache()

  public init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
    generator: Generator = .global
  ) {
    precondition(
      inChannels % groups == 0 && outChannels % groups == 0,
      "Conv2d: channels must be divisible by groups")
    let w = Init.kaimingUniform(
      [outChannels, inChannels / groups, kernelSize.0, kernelSize.1], a: 5.0.squareRoot(),
      generator: generator)
    weight = w
    self.bias = defaultBias(outChannels, fanIn: Init.fans(w.shape).fanIn, bias, generator)
    (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
    super.init()
  }

  public convenience init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    dilation: Int = 1, groups: Int = 1, bias: Bool = true, generator: Generator = .global
  ) {
    self.init(
      inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
      padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias,
      generator: generator)
  }

  override open var extraDescription: String {
    convDescription(
      weight.shape[1] * groups, weight.shape[0], kernel: [weight.shape[2], weight.shape[3]],
      stride: [stride.0, stride.1], padding: [padding.0, padding.1], dilation: [dilation.0, dilation.1],
      groups: groups, bias: bias != nil)
  }

  override open func forward(_ x: Tensor) -> Tensor {
    Functional.conv2d(
      x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
      groups: groups, cache: cache)
  }
}

/// 1-D convolution over [N, C, L], run as a 2-D convolution of height 1.
open class Conv1d: Module {
  @Parameter public var weight: Tensor
  @Parameter public var bias: Tensor?
  public let stride: Int, padding: Int, dilation: Int, groups: Int
  private let cache = PatchIndexCache()

  public init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    dilation: Int = 1, groups: Int = 1, bias: Bool = true, generator: Generator = .global
  ) {
    precondition(
      inChannels % groups == 0 && outChannels % groups == 0,
      "Conv1d: channels must be divisible by groups")
    let w = Init.kaimingUniform(
      [outChannels, inChannels / groups, kernelSize], a: 5.0.squareRoot(), generator: generator)
    weight = w
    self.bias = defaultBias(outChannels, fanIn: Init.fans(w.shape).fanIn, bias, generator)
    (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
    super.init()
  }

  override open var extraDescription: String {
    convDescription(
      weight.shape[1] * groups, weight.shape[0], kernel: [weight.shape[2]], stride: [stride],
      padding: [padding], dilation: [dilation], groups: groups, bias: bias != nil)
  }

  override open func forward(_ x: Tensor) -> Tensor {
    precondition(x.rank == 3, "Conv1d: expected input [N, C, L], got \(x.shape)")
    let g = PatchGeometry(
      channels: x.shape[1], height: 1, width: x.shape[2], kernel: (1, weight.shape[2]),
      stride: (1, stride), dilation: (1, dilation), padBefore: (0, padding), padAfter: (0, padding),
      groups: groups)
    let w4 = weight.reshape([weight.shape[0], weight.shape[1], 1, weight.shape[2]])
    if let y = backendConvolution(
      x.unsqueeze(2), weight: w4, bias: bias, stride: (1, stride), padding: (0, padding),
      dilation: (1, dilation), groups: groups)
    {
      return y.squeeze(2)
    }
    return convolve(x.unsqueeze(2), weight: w4, bias: bias, geometry: g, cache: cache).squeeze(2)
  }
}

/// Transposed 2-D convolution (the adjoint of Conv2d): weight [Cin, Cout/groups, kh, kw].
/// Runs as a stride-1 convolution over the zero-dilated, padded input with the
/// flipped, channel-swapped kernel.
open class ConvTranspose2d: Module {
  @Parameter public var weight: Tensor
  @Parameter public var bias: Tensor?
  public let stride: (Int, Int), padding: (Int, Int), outputPadding: (Int, Int),
    dilation: (Int, Int), groups: Int
  private let cache = PatchIndexCache()

  public init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
    groups: Int = 1, bias: Bool = true, generator: Generator = .global
  ) {
    precondition(
      inChannels % groups == 0 && outChannels % groups == 0,
      "ConvTranspose2d: channels must be divisible by groups")
    let w = Init.kaimingUniform(
      [inChannels, outChannels / groups, kernelSize.0, kernelSize.1], a: 5.0.squareRoot(),
      generator: generator)
    weight = w
    // PyTorch computes fan_in from weight.size(1) here too.
    self.bias = defaultBias(outChannels, fanIn: Init.fans(w.shape).fanIn, bias, generator)
    (self.stride, self.padding, self.outputPadding, self.dilation, self.groups) = (
      stride, padding, outputPadding, dilation, groups
    )
    super.init()
  }

  public convenience init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool = true,
    generator: Generator = .global
  ) {
    self.init(
      inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
      padding: (padding, padding),
      outputPadding: (outputPadding, outputPadding), dilation: (dilation, dilation), groups: groups,
      bias: bias,
      generator: generator)
  }

  override open var extraDescription: String {
    convDescription(
      weight.shape[0], weight.shape[1] * groups, kernel: [weight.shape[2], weight.shape[3]],
      stride: [stride.0, stride.1], padding: [padding.0, padding.1], dilation: [dilation.0, dilation.1],
      groups: groups, bias: bias != nil, outputPadding: [outputPadding.0, outputPadding.1])
  }

  override open func forward(_ x: Tensor) -> Tensor {
    Functional.convTranspose2d(
      x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
      dilation: dilation, groups: groups, cache: cache)
  }
}

extension Functional {
  /// Transposed 2-D convolution; weight [Cin, Cout/groups, kh, kw].
  public static func convTranspose2d(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0),
    outputPadding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1
  ) -> Tensor {
    convTranspose2d(
      x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
      dilation: dilation, groups: groups, cache: nil)
  }

  static func convTranspose2d(
    _ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
    outputPadding: (Int, Int), dilation: (Int, Int), groups: Int, cache: PatchIndexCache?
  ) -> Tensor {
    precondition(x.rank == 4, "ConvTranspose2d: expected input [N, C, H, W], got \(x.shape)")
    let (cin, og, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let cg = cin / groups
    if let y = backendTransposedConvolution(
      x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
      dilation: dilation, groups: groups)
    {
      return y
    }
    if groups == 1 {
      return transposedByColumnAdd(
        x, weight: weight, bias: bias, stride: stride, padding: padding,
        outputPadding: outputPadding,
        dilation: dilation, cache: cache)
    }
    let edge = (dilation.0 * (kh - 1) - padding.0, dilation.1 * (kw - 1) - padding.1)
    precondition(
      edge.0 >= 0 && edge.1 >= 0,
      "ConvTranspose2d: padding larger than dilation·(kernel-1) is not supported")
    // [G, Cg, Og, kk] → [G, Og, Cg, kk], kernel reversed → conv weight [G·Og, Cg, kh, kw].
    let flip = Tensor((0..<(kh * kw)).reversed().map { Int64($0) }, shape: [kh * kw])
    let w = weight.reshape([groups, cg, og, kh * kw]).permute(0, 2, 1, 3).reshape([
      groups * og * cg, kh * kw,
    ])
    .indexSelect(dim: 1, index: flip).reshape([groups * og, cg, kh, kw])
    let g = PatchGeometry(
      channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernel: (kh, kw),
      dilation: dilation,
      inputDilation: stride, padBefore: edge,
      padAfter: (edge.0 + outputPadding.0, edge.1 + outputPadding.1), groups: groups)
    return convolve(x, weight: w, bias: bias, geometry: g, cache: cache)
  }

  /// A transposed convolution is the adjoint of the convolution it inverts: each input pixel
  /// times the weight gives a Cout·kh·kw patch (one GEMM, no zero-inserted input), and the
  /// patches are added into the output where that convolution would have read them (col2im,
  /// as a differentiable column add). 4× fewer multiply-adds than zero insertion at stride 2.
  static func transposedByColumnAdd(
    _ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
    outputPadding: (Int, Int), dilation: (Int, Int), cache: PatchIndexCache?
  ) -> Tensor {
    let (n, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
    precondition(
      weight.shape[0] == cin,
      "ConvTranspose2d: input has \(cin) channels, weight expects \(weight.shape[0])")
    let oh = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
    let ow = (w - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
    precondition(
      oh > 0 && ow > 0,
      "ConvTranspose2d: output size \(oh)x\(ow) is not positive for input \(h)x\(w)")
    // The convolution over the output that this one inverts: its windows are the patches.
    let g = PatchGeometry(
      channels: cout, height: oh, width: ow, kernel: (kh, kw), stride: stride, dilation: dilation,
      padBefore: padding, padAfter: padding)
    precondition(
      g.outHeight == h && g.outWidth == w,
      "ConvTranspose2d: output padding \(outputPadding) must be smaller than stride \(stride) or dilation"
    )
    let pixels = x.reshape([n, cin, h * w]).transpose(1, 2)  // [N, H·W, Cin]
    let patches = pixels.matmul(weight.reshape([cin, cout * kh * kw]))  // [N, H·W, Cout·kh·kw]
    let y = Tensor.zeros([n, cout * oh * ow], dtype: x.dtype, device: x.device)
      .addColumns(validated: cache?.index(g) ?? g.index(), source: patches.reshape([n, -1]))
      .reshape([n, cout, oh, ow])
    guard let bias else { return y }
    return y + bias.reshape([1, cout, 1, 1])
  }
}

/// The backend's convolution kernel (oneDNN on the CPU) when it has one for the case: nil
/// for other dtypes or a mis-shaped call, which the patch path then runs or reports.
func backendConvolution(
  _ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int),
  groups: Int
) -> Tensor? {
  guard x.rank == 4, weight.rank == 4, x.shape[1] == weight.shape[1] * groups else { return nil }
  let g = ConvolutionGeometry(
    batch: x.shape[0], inChannels: x.shape[1], height: x.shape[2], width: x.shape[3],
    outChannels: weight.shape[0], kernel: (weight.shape[2], weight.shape[3]), stride: stride, padding: padding,
    dilation: dilation, groups: groups)
  return autocastConvolution([x, weight] + (bias.map { [$0] } ?? [])) { t in
    Tensor.convolution(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, g)
  }
}

/// torch's CPU autocast runs convolutions (and transposed ones) in the half type: under `Autocast`
/// the float32 / half inputs are rounded to it, the float32 kernel accumulates in float32, and the
/// output is rounded once to the half type (so its gradients reach float32 weights in float32).
/// Outside autocast, `body` runs on the inputs as they are.
func autocastConvolution(_ inputs: [Tensor], _ body: ([Tensor]) -> Tensor?) -> Tensor? {
  guard let half = Autocast.dtype, inputs.allSatisfy({ $0.dtype == .float32 || $0.dtype.isHalf }) else {
    return body(inputs)
  }
  let rounded = inputs.map { $0.to(half).to(.float32) }
  return Autocast.run(enabled: false) { body(rounded) }?.to(half)
}

/// A transposed convolution as the backward-data pass of the convolution it inverts (whose
/// input is this layer's output), on the backend's kernel; nil when it has none or the
/// output padding makes that convolution not map back onto x's size.
func backendTransposedConvolution(
  _ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
  outputPadding: (Int, Int), dilation: (Int, Int), groups: Int
) -> Tensor? {
  guard x.rank == 4, weight.rank == 4, x.shape[1] == weight.shape[0], groups > 0 else { return nil }
  let (n, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
  let (og, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
  let oh = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
  let ow = (w - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
  guard oh > 0, ow > 0 else { return nil }
  let g = ConvolutionGeometry(
    batch: n, inChannels: og * groups, height: oh, width: ow, outChannels: cin, kernel: (kh, kw),
    stride: stride, padding: padding, dilation: dilation, groups: groups)
  guard g.outHeight == h, g.outWidth == w, bias.map({ $0.shape == [og * groups] }) ?? true else { return nil }
  return autocastConvolution([x, weight] + (bias.map { [$0] } ?? [])) { t in
    guard let y = Tensor.convolutionBackwardData(t[0], weight: t[1], g) else { return nil }
    return t.count > 2 ? y + t[2].reshape([1, og * groups, 1, 1]) : y
  }
}

/// PyTorch's Conv extra_repr: defaults (padding 0, dilation 1, groups 1, bias) left out.
func convDescription(
  _ inChannels: Int, _ outChannels: Int, kernel: [Int], stride: [Int], padding: [Int], dilation: [Int],
  groups: Int, bias: Bool, outputPadding: [Int] = []
) -> String {
  var s = "\(inChannels), \(outChannels), kernel_size=\(pythonTuple(kernel)), stride=\(pythonTuple(stride))"
  if padding.contains(where: { $0 != 0 }) { s += ", padding=\(pythonTuple(padding))" }
  if dilation.contains(where: { $0 != 1 }) { s += ", dilation=\(pythonTuple(dilation))" }
  if outputPadding.contains(where: { $0 != 0 }) { s += ", output_padding=\(pythonTuple(outputPadding))" }
  if groups != 1 { s += ", groups=\(groups)" }
  if !bias { s += ", bias=False" }
  return s
}
