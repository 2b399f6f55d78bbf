/// Automatic mixed precision, as `torch.autocast("cpu", dtype=…)`: inside `Autocast.run`, ops on
/// torch's CPU lower-precision list cast their float32 inputs to the half type and return the half
/// type; ops on the float32 list cast half inputs up to float32; every other op runs in the widest
/// of its input types (ordinary promotion). Casts are recorded by autograd, so gradients of float32
/// parameters (the master weights) arrive in float32.
///
/// The state is task-local (each thread or task sees its own, like torch's thread-local autocast
/// state), so a DataLoader thread or a second model on another thread is not affected.
public enum Autocast {
  @TaskLocal static var current: DType? = nil

  /// The half type ops cast to inside `run`, or nil outside it.
  public static var dtype: DType? { current }
  public static var isEnabled: Bool { current != nil }

  /// Runs `body` with autocast to `dtype` (`.bfloat16` or `.float16`); `enabled: false` runs it
  /// with autocast off (torch's `autocast(enabled=False)` inside an autocast region).
  public static func run<R>(dtype: DType = .bfloat16, enabled: Bool = true, _ body: () throws -> R) rethrows -> R {
    if dtype != .bfloat16 && dtype != .float16 {
      opFailure(LoomError("Autocast.run: dtype must be bfloat16 or float16, got \(dtype)"))
    }
    return try $current.withValue(enabled ? dtype : nil, operation: body)
  }

  /// torch's "CPU Ops that can autocast to bfloat16" (aten/src/ATen/autocast_mode.cpp,
  /// `lower_precision_fp` for the CPU key), by aten name; the ones Loom has are marked in `Tensor`'s
  /// and the free functions' code with `autocastLowerPrecision`.
  public static let lowerPrecisionOps: Set<String> = [
    "conv1d", "conv2d", "conv3d", "bmm", "mm", "linalg_vecdot", "baddbmm", "addmm", "addbmm", "linear",
    "_convolution", "matmul", "conv_tbc", "mkldnn_rnn_layer", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "prelu", "scaled_dot_product_attention", "_native_multi_head_attention",
  ]

  /// torch's "CPU Ops that can autocast to float32" that Loom has (the full list also holds pooling,
  /// padding, FFT and linalg ops Loom does not implement). Note that on the CPU softmax, log_softmax
  /// and layer_norm are *not* on it (they are on CUDA's): they run in their input's type.
  public static let float32Ops: Set<String> = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "nll_loss", "cross_entropy_loss",
    "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "prod",
  ]

  /// Runs a lower-precision-list op: float32 and half inputs are cast to the autocast type, and the
  /// op itself runs with autocast off (it is one op, so its parts are not cast again).
  public static func lowerPrecision(_ inputs: [Tensor], _ body: ([Tensor]) -> Tensor) -> Tensor {
    let cast = inputs.map(lower)
    return $current.withValue(nil) { body(cast) }
  }

  /// Runs a float32-list op: half inputs are cast up to float32, the op runs with autocast off.
  public static func inFloat32(_ inputs: [Tensor], _ body: ([Tensor]) -> Tensor) -> Tensor {
    let cast = inputs.map(upper)
    return $current.withValue(nil) { body(cast) }
  }

  /// Casts a float32 (not float64) tensor to the autocast type for a lower-precision op.
  @inline(__always)
  static func lower(_ t: Tensor) -> Tensor {
    guard let half = current, t.dtype != half, t.dtype == .float32 || t.dtype.isHalf else { return t }
    return t.to(half)
  }

  /// Casts a half tensor up to float32 for a float32-list op.
  @inline(__always)
  static func upper(_ t: Tensor) -> Tensor {
    guard current != nil, t.dtype.isHalf else { return t }
    return t.to(.float32)
  }
}

extension DType {
  /// bfloat16 or float16: storage formats whose arithmetic runs in float32 and is rounded back.
  public var isHalf: Bool { self == .bfloat16 || self == .float16 }
}

/// Runs a float32 op on half-type inputs: converts them (differentiably) to float32, computes with
/// float32 accumulation, and rounds the result to `dtype` — what a bf16 op is on a CPU without bf16
/// arithmetic. Rounding once at the end is what oneDNN's bf16 GEMMs do too (float32 accumulators).
func computedInFloat32(_ inputs: [Tensor], as dtype: DType, _ body: ([Tensor]) -> Tensor) -> Tensor {
  let up = inputs.map { $0.dtype.isHalf ? $0.to(.float32) : $0 }
  return Autocast.$current.withValue(nil) { body(up) }.to(dtype)
}
