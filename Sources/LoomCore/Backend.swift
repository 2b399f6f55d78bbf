/// The compute a device provides. Tensor ops do shape checks and autograd, then call
/// their tensor's backend for the arithmetic, so a CUDA backend slots in by
/// implementing this protocol — models and layers never see it. Backends receive
/// tensors without autograd history and return fresh tensors (or write into `out`).
public protocol Backend: AnyObject {
  var device: Device { get }

  // Memory.
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
}

/// Comparisons producing bool tensors.
public enum ComparisonOp: Int, Sendable {
  case less, lessEqual, greater, greaterEqual, equal, notEqual
}

extension Tensor {
  /// The backend that computes on this tensor's device.
  public var backend: any Backend {
    switch device {
    case .cpu: return CPUBackend.shared
    case .emulated:
      opFailure(LoomError("the emulated device's backend is not built yet"))
    case .cuda(let i):
      opFailure(
        LoomError("no CUDA backend is built into this Loom (tensor on cuda:\(i)); use .cpu"))
    }
  }
}

extension Tensor {
  /// This tensor on `device` (self when already there); differentiable, like `Tensor.to(device)`.
  public func to(device target: Device) -> Tensor {
    if target == device { return self }
    opFailure(LoomError("moving tensors between devices is not built yet (\(device) → \(target))"))
  }
}
