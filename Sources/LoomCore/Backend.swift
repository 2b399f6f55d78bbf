/// The compute a device provides. Tensor ops do shape checks and autograd, then call
/// their tensor's backend for the arithmetic, so a CUDA backend slots in by
/// implementing this protocol — models and layers never see it. Backends receive
/// tensors without autograd history and return fresh tensors (or write into `out`).
public protocol Backend: AnyObject {
  var device: Device { get }

  // Memory. Storage is owned by its backend: only these ops move bytes between the host
  // and the device, so a backend whose memory the host cannot read (CUDA) slots in here.
  /// Uninitialised device memory of `byteCount` bytes.
  func allocate(byteCount: Int) -> Storage
  /// Writes `value` (converted to the dtype) into every element of `tensor`'s view.
  func fill(_ tensor: Tensor, with value: Double)
  /// Host → device: `bytes` hold `tensor.count` elements of its dtype in row-major order;
  /// `tensor` is dense.
  func upload(_ bytes: UnsafeRawBufferPointer, into tensor: Tensor)
  /// Device → host: the elements of `tensor`'s view (any strides) in row-major order.
  func download(_ tensor: Tensor, into bytes: UnsafeMutableRawBufferPointer)
  /// Gathers rows of host memory into the contiguous `tensor`: its row `i` (of
  /// `rowBytes` bytes) is `source[rows[i] * rowBytes ..< (rows[i] + 1) * rowBytes]`
  /// (batch assembly without a host staging copy). Rows must lie within `source`.
  func uploadRows(
    _ source: UnsafeRawBufferPointer, rowBytes: Int, rows: [Int], into tensor: Tensor)
  /// start, start + step, … into a dense tensor.
  func arange(start: Double, step: Double, into tensor: Tensor)
  /// Random values into a dense tensor: element i is a fixed function of (seed, offset + i)
  /// (`Philox`), so every backend draws the same numbers for the same generator state.
  func fillRandom(_ tensor: Tensor, _ distribution: RandomDistribution, seed: UInt64, offset: UInt64)
  /// Writes `source` (same shape as `destination`, any strides) into `destination`'s view.
  func copy(_ source: Tensor, into destination: Tensor)
  func convert(_ x: Tensor, to dtype: DType) -> Tensor

  // Elementwise.
  func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor
  func compare(_ op: ComparisonOp, _ a: Tensor, _ b: Tensor) -> Tensor
  func unary(_ op: UnaryOp, _ x: Tensor) -> Tensor
  /// gx = gy · f'(x) in one pass, or nil when the backend has no fused kernel for `op`.
  func unaryBackward(_ op: UnaryOp, input: Tensor, gradOutput: Tensor) -> Tensor?
  func pow(_ x: Tensor, exponent: Double) -> Tensor
  func leakyRelu(_ x: Tensor, negativeSlope: Double) -> Tensor
  func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor

  // Reductions.
  func sum(_ x: Tensor, dims: [Int], keepDim: Bool) -> Tensor
  /// Max over the last dimension of a dense tensor, with first-maximum indices.
  func maxLastDim(_ x: Tensor) -> (values: Tensor, indices: Tensor)

  // Linear algebra.
  /// [..., M, K] × [..., K, N] with broadcast batch dims.
  func matmul(_ a: Tensor, _ b: Tensor) -> Tensor

  /// y = x · wᵀ + b for x [N, in], w [out, in] (or x · w for w [in, out] when
  /// `weightIsInputMajor`, Hugging Face's Conv1D layout), b [out].
  func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, weightIsInputMajor: Bool) -> Tensor
  /// Whether `matmul` and `linear` take `dtype` operands themselves (accumulating in float32,
  /// rounding once); otherwise half-type products run as float32 products of converted copies.
  func hasNativeMatmul(for dtype: DType) -> Bool

  // Fused ops over the last dimension of dense tensors.
  func softmax(_ x: Tensor, log: Bool) -> Tensor
  func softmaxBackward(output: Tensor, gradOutput: Tensor, log: Bool) -> Tensor
  func crossEntropy(_ logits: Tensor, targets: Tensor, ignoreIndex: Int, labelSmoothing: Double)
    -> (losses: Tensor, logSumExp: Tensor, validCount: Int)
  func crossEntropyBackward(
    _ logits: Tensor, targets: Tensor, ignoreIndex: Int, labelSmoothing: Double, logSumExp: Tensor,
    rowGradients: Tensor
  ) -> Tensor
  /// Elementwise binary cross-entropy of probabilities (logs floored at -100), and its
  /// gradient for the probabilities; nil when the backend has no fused kernel for the dtypes.
  func binaryCrossEntropy(_ p: Tensor, _ t: Tensor) -> Tensor?
  func binaryCrossEntropyBackward(_ p: Tensor, _ t: Tensor, gradOutput: Tensor) -> Tensor?
  func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Double) -> (
    output: Tensor, mean: Tensor, rstd: Tensor
  )
  func layerNormBackward(
    _ gradOutput: Tensor, input: Tensor, weight: Tensor?, mean: Tensor, rstd: Tensor,
    needsWeightGrad: Bool, needsBiasGrad: Bool
  ) -> (input: Tensor, weight: Tensor?, bias: Tensor?)
  func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Double) -> (output: Tensor, rstd: Tensor)
  func rmsNormBackward(_ gradOutput: Tensor, input: Tensor, weight: Tensor?, rstd: Tensor) -> (
    input: Tensor, weight: Tensor?
  )

  /// Attention over [B, H, T, D] views with dense last dims; nil when this backend has no
  /// fused kernel for the case (the op then uses its composite definition).
  func attention(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, keyMask: Tensor?, isCausal: Bool, scale: Double,
    dropout: AttentionDropout
  ) -> (output: Tensor, logSumExp: Tensor)?
  func attentionBackward(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, output: Tensor, logSumExp: Tensor, gradOutput: Tensor,
    keyMask: Tensor?,
    isCausal: Bool, scale: Double, dropout: AttentionDropout
  ) -> (q: Tensor, k: Tensor, v: Tensor)

  // Indexing.
  /// Rows of a dense tensor along dim 0 at `index` (int64, 1-D).
  func takeRows(_ x: Tensor, index: Tensor) -> Tensor
  /// A copy of `base` with rows of `source` added at `index` along dim 0.
  func addRows(_ base: Tensor, index: Tensor, source: Tensor) -> Tensor
  /// Adds rows of `source` at `index` along dim 0 into the dense `base` itself (an embedding's
  /// gradient without a second [V, C] buffer).
  func accumulateRows(into base: Tensor, index: Tensor, source: Tensor)
  /// `destination += source` in place (same shape and dtype, `destination` dense): gradients
  /// summed into a buffer the autograd engine owns.
  func accumulate(_ source: Tensor, into destination: Tensor)
  /// out[r, j] = x[r, index[j]] for dense x [rows, cols] and an int64 index [picked] shared by
  /// every row (index_select along the last dimension: convolution patches). Entries are in
  /// [0, cols), or −1 for a zero column.
  func takeColumns(_ x: Tensor, index: Tensor) -> Tensor
  /// A copy of dense `base` [rows, cols] with source[r, j] added at base[r, index[j]]; entries
  /// of −1 are skipped.
  func addColumns(_ base: Tensor, index: Tensor, source: Tensor) -> Tensor
  /// out[r, c] = x[r, index[r, c]] for dense x [rows, cols] and int64 index [rows, outCols].
  func gatherLastDim(_ x: Tensor, index: Tensor) -> Tensor
  /// A copy of dense `base` with `source` added at `index` along `dim` (`torch.scatter_add`);
  /// `index` is dense int64 with the rank of `base`, `source` at least its extent.
  func scatterAdd(_ base: Tensor, dim: Int, index: Tensor, source: Tensor) -> Tensor

  // Sorting and sampling.
  /// Int64 indices [rows, k] of the k largest (or smallest) entries of each row of dense
  /// x [rows, cols], sorted, ties in index order, NaN as largest.
  func topkIndices(_ x: Tensor, k: Int, largest: Bool) -> Tensor
  /// Int64 [rows, numSamples] category draws from dense non-negative weights [rows, cols].
  func multinomial(_ weights: Tensor, numSamples: Int, replacement: Bool, generator: Generator)
    -> Tensor

  // Optimizer updates, in place on dense parameters and state of one dtype (float32/float64).
  func adamStep(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, _ options: AdamStepOptions)
  /// `momentumBuffer` is nil without momentum.
  func sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor?, _ options: SGDStepOptions)
  /// Factored (`rowVar`, `colVar`, rank ≥ 2) or full (`variance`) second moments.
  func adafactorStep(
    param: Tensor, grad: Tensor, rowVar: Tensor?, colVar: Tensor?, variance: Tensor?,
    _ options: AdafactorStepOptions)

  // Quantized weights (bitsandbytes' formats, Quantization/).
  /// Codes and absmax of a dense float32 weight [out, in] whose width the format accepts.
  func quantize(_ weight: Tensor, as format: QuantizedWeightFormat) -> QuantizedWeight
  /// The float32 weight [out, in] the codes stand for.
  func dequantize(_ weight: QuantizedWeight) -> Tensor
  /// y [m, out] = x · Wᵀ (+ bias) for dense float32 x [m, in], dequantizing on the fly.
  func quantizedLinear(_ x: Tensor, weight: QuantizedWeight, bias: Tensor?) -> Tensor
  /// Block-wise 8-bit codes with the signed dynamic map, one absmax per block, of dense float32 x.
  func quantizeBlockwise(_ x: Tensor, blockSize: Int) -> (codes: Tensor, absmax: Tensor)
  func dequantizeBlockwise(codes: Tensor, absmax: Tensor, blockSize: Int) -> Tensor

  // 8-bit optimizer states (bitsandbytes' blockwise dynamic quantization).
  /// bitsandbytes' 8-bit blockwise AdamW on a float32 parameter (BlockwiseQuantization.swift).
  func adam8bitStep(param: Tensor, grad: Tensor, state: QuantizedAdamState, _ options: AdamStepOptions)
  /// uint8 codes and float32 absmax [blocks] of dense float32 `x`, per block of `blockSize`.
  func quantizeBlockwise(_ x: Tensor, code: Tensor, blockSize: Int) -> (codes: Tensor, absmax: Tensor)
  /// float32 code[q] · absmax[block] in `q`'s shape.
  func dequantizeBlockwise(_ q: Tensor, absmax: Tensor, code: Tensor, blockSize: Int) -> Tensor

  // Convolutions (Convolution.swift): NCHW, weights [O, C/groups, kh, kw]. Each returns nil
  // when the backend has no kernel for the case (dtype, geometry); layers then use their
  // composite definition (patch gather + matmul).
  /// y [N, O, OH, OW] = conv(x, weight) (+ bias [O]).
  func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, _ geometry: ConvolutionGeometry) -> Tensor?
  /// The input gradient [N, C, H, W] from gradOutput [N, O, OH, OW] and the weight.
  func convolutionBackwardData(_ gradOutput: Tensor, weight: Tensor, _ geometry: ConvolutionGeometry)
    -> Tensor?
  /// The weight gradient [O, C/groups, kh, kw] from the input and gradOutput.
  func convolutionBackwardWeights(_ x: Tensor, gradOutput: Tensor, _ geometry: ConvolutionGeometry)
    -> Tensor?
}

/// What `Backend.fillRandom` draws.
public enum RandomDistribution: Sendable, Equatable {
  /// Uniform in [low, high).
  case uniform(low: Double, high: Double)
  case normal(mean: Double, std: Double)
  /// Integers uniform in low..<high.
  case integers(low: Int, high: Int)
  /// 1 with probability p, else 0.
  case bernoulli(p: Double)
}

/// Adam / AdamW hyperparameters for one update (`step` counts from 1).
public struct AdamStepOptions: Sendable {
  public var lr, beta1, beta2, eps, weightDecay: Double
  public var step: Int
  /// AdamW's θ ← θ·(1 − lr·λ) instead of adding λθ to the gradient.
  public var decoupledWeightDecay: Bool
  public init(
    lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double, step: Int,
    decoupledWeightDecay: Bool
  ) {
    (self.lr, self.beta1, self.beta2, self.eps, self.weightDecay) = (lr, beta1, beta2, eps, weightDecay)
    (self.step, self.decoupledWeightDecay) = (step, decoupledWeightDecay)
  }
}

/// SGD hyperparameters for one update.
public struct SGDStepOptions: Sendable {
  public var lr, momentum, dampening, weightDecay: Double
  public var nesterov: Bool
  /// The first step with momentum copies the gradient into the buffer.
  public var firstStep: Bool
  public init(
    lr: Double, momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool, firstStep: Bool
  ) {
    (self.lr, self.momentum, self.dampening, self.weightDecay) = (lr, momentum, dampening, weightDecay)
    (self.nesterov, self.firstStep) = (nesterov, firstStep)
  }
}

/// Adafactor hyperparameters for one update (torch ≥ 2.5 semantics, see `Adafactor`).
public struct AdafactorStepOptions: Sendable {
  public var lr, weightDecay: Double
  public var step: Int
  public var beta2Decay: Double
  /// Variance floor (nil: the dtype's machine epsilon).
  public var eps1: Double?
  public var eps2: Double
  /// Update clipping threshold.
  public var clipThreshold: Double
  public var maximize: Bool
  public init(
    lr: Double, weightDecay: Double, step: Int, beta2Decay: Double, eps1: Double?, eps2: Double,
    clipThreshold: Double, maximize: Bool
  ) {
    (self.lr, self.weightDecay, self.step, self.beta2Decay) = (lr, weightDecay, step, beta2Decay)
    (self.eps1, self.eps2, self.clipThreshold, self.maximize) = (eps1, eps2, clipThreshold, maximize)
  }
}

/// Comparisons producing bool tensors.
public enum ComparisonOp: Int, Sendable {
  case less, lessEqual, greater, greaterEqual, equal, notEqual
}

extension Backend {
  public func hasNativeMatmul(for dtype: DType) -> Bool { !dtype.isHalf }

  public func accumulateRows(into base: Tensor, index: Tensor, source: Tensor) {
    copy(addRows(base, index: index, source: source), into: base)
  }

  public func accumulate(_ source: Tensor, into destination: Tensor) {
    copy(binary(.add, destination, source), into: destination)
  }

  /// Staged through one host buffer, then a single `upload`.
  public func uploadRows(
    _ source: UnsafeRawBufferPointer, rowBytes: Int, rows: [Int], into tensor: Tensor
  ) {
    let total = rows.count * rowBytes
    precondition(total == tensor.count * tensor.dtype.byteSize, "Loom: uploadRows size mismatch")
    guard total > 0 else { return }
    let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 64)
    defer { staging.deallocate() }
    for (i, r) in rows.enumerated() {
      precondition(r >= 0 && (r + 1) * rowBytes <= source.count, "Loom: uploadRows row \(r) out of range")
      (staging.baseAddress! + i * rowBytes).copyMemory(
        from: source.baseAddress! + r * rowBytes, byteCount: rowBytes)
    }
    upload(UnsafeRawBufferPointer(staging), into: tensor)
  }
}

extension Device {
  /// The backend that owns this device's memory and computes on it.
  public var backend: any Backend {
    switch self {
    case .cpu: return CPUBackend.shared
    case .emulated: return EmulatedBackend.shared
    case .cuda(let i):
      opFailure(
        LoomError("no CUDA backend is built into this Loom (tensor on cuda:\(i)); use .cpu"))
    }
  }
}

extension Tensor {
  /// The backend that computes on this tensor's device.
  @inline(__always) public var backend: any Backend {
    if storage.isHostMemory { return CPUBackend.shared }
    return storage.device.backend
  }

  /// The backend for an op on `self` and `other`: a tensor off the host wins, so a CPU
  /// scalar combines with a device tensor (PyTorch's 0-d CPU tensors).
  func backend(with other: Tensor) -> any Backend {
    other.storage.isHostMemory ? backend : other.backend
  }
}

extension Tensor {
  /// This tensor on `device` (self when already there); differentiable: the gradient goes
  /// back to the source device, like `Tensor.to(device)`.
  public func to(device target: Device) -> Tensor {
    if target == device { return self }
    let source = detach()
    let out = Tensor(empty: shape, dtype: dtype, device: target)
    let bytes = count * dtype.byteSize
    // Through host memory: each backend only ever sees its own storage.
    let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(bytes, 1), alignment: 64)
    defer { staging.deallocate() }
    let view = UnsafeMutableRawBufferPointer(rebasing: staging[0..<bytes])
    backend.download(source, into: view)
    out.backend.upload(UnsafeRawBufferPointer(view), into: out)
    let from = device
    return out.recorded("ToCopyBackward", inputs: [self]) { g, _ in [g.to(device: from)] }
  }
}
