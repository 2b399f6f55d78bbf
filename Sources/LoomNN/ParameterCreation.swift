import LoomCore

/// Building a module straight in a half type, as `from_pretrained(torch_dtype=…)` does: inside
/// `ParameterCreation.run(dtype:)` every floating-point parameter is stored in `dtype` as its
/// module declares it (converted in place, so tied weights stay one tensor), and with
/// `skippingInitialization` the `Init` helpers hand out empty tensors — memory neither drawn nor
/// written, so not yet resident — instead of random draws (the weights are about to be loaded;
/// HF's `_fast_init` and meta-device construction). Every such parameter must then be loaded or
/// replaced: its values are undefined until it is. The float32 model never exists whole:
/// at most one float32 parameter at a time, for layers that draw their own.
///
/// Task-local like `Autocast`: other threads and tasks are not affected.
public enum ParameterCreation {
  public struct Scope: Sendable {
    public let dtype: DType
    public let skipsInitialization: Bool
  }

  @TaskLocal static var current: Scope? = nil

  /// The scope in force, or nil outside `run`.
  public static var scope: Scope? { current }

  public static func run<R>(
    dtype: DType, skippingInitialization: Bool = false, _ body: () throws -> R
  ) throws -> R {
    guard dtype.isFloatingPoint else {
      throw LoomError(
        "ParameterCreation.run: \(dtype) is not a floating-point type; use float32, bfloat16 or float16"
      )
    }
    return try $current.withValue(
      Scope(dtype: dtype, skipsInitialization: skippingInitialization), operation: body)
  }

  /// Stores a newly declared parameter's tensor in the scope's dtype (in place).
  @usableFromInline
  static func adopt(_ tensor: Tensor?) {
    guard let scope = current, let tensor, tensor.dtype.isFloatingPoint, tensor.dtype != scope.dtype
    else { return }
    noGrad { tensor.setData(tensor.detach().to(scope.dtype)) }
  }

  /// An `Init` helper's tensor: empty in the scope's dtype when initialisation is skipped, else the
  /// draw (converted when the parameter is declared).
  @inline(__always)
  static func initialized(_ shape: [Int], _ draw: () -> Tensor) -> Tensor {
    if let scope = current, scope.skipsInitialization {
      return Tensor(empty: shape, dtype: scope.dtype).requiringGrad()
    }
    return draw()
  }
}
