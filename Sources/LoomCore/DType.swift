/// Element types a tensor can hold. Float32 runs every op; float64 exists for
/// gradient checks; integer types hold indices, bool holds masks; float16 and
/// bfloat16 are storage formats converted to float32 for compute.
public enum DType: String, CaseIterable, Sendable, CustomStringConvertible {
  case float32, float64, float16, bfloat16, int64, int32, uint8, bool

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .float64, .int64: return 8
    case .float32, .int32: return 4
    case .float16, .bfloat16: return 2
    case .uint8, .bool: return 1
    }
  }

  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float64, .float16, .bfloat16: return true
    default: return false
    }
  }

  /// Whether ops compute in this type directly (others are converted first).
  public var isComputeType: Bool { self == .float32 || self == .float64 }

  public var description: String { rawValue }
}

/// Swift scalar types that map onto a DType.
public protocol TensorElement {
  static var dtype: DType { get }
  /// Conversion used by generic fill/read helpers.
  init(loomDouble value: Double)
  var loomDouble: Double { get }
}

extension Float: TensorElement {
  public static var dtype: DType { .float32 }
  public init(loomDouble value: Double) { self = Float(value) }
  public var loomDouble: Double { Double(self) }
}
extension Double: TensorElement {
  public static var dtype: DType { .float64 }
  public init(loomDouble value: Double) { self = value }
  public var loomDouble: Double { self }
}
extension Int64: TensorElement {
  public static var dtype: DType { .int64 }
  public init(loomDouble value: Double) { self = Int64(value) }
  public var loomDouble: Double { Double(self) }
}
extension Int32: TensorElement {
  public static var dtype: DType { .int32 }
  public init(loomDouble value: Double) { self = Int32(value) }
  public var loomDouble: Double { Double(self) }
}
extension UInt8: TensorElement {
  public static var dtype: DType { .uint8 }
  public init(loomDouble value: Double) { self = UInt8(value) }
  public var loomDouble: Double { Double(self) }
}
extension Bool: TensorElement {
  public static var dtype: DType { .bool }
  public init(loomDouble value: Double) { self = value != 0 }
  public var loomDouble: Double { self ? 1 : 0 }
}

/// Where a tensor's memory lives. Only the CPU backend exists today; CUDA slots in
/// behind `Backend` without touching models.
public enum Device: Hashable, Sendable, CustomStringConvertible {
  case cpu
  /// A test device whose memory only its backend may touch (it delegates to the CPU
  /// kernels), proving that models, layers and optimizers never read device memory.
  case emulated
  case cuda(Int)
  public var description: String {
    switch self {
    case .cpu: return "cpu"
    case .emulated: return "emulated"
    case .cuda(let i): return "cuda:\(i)"
    }
  }

  /// Parses "cpu", "emulated" or "cuda:N" (PyTorch's spelling).
  public init(parsing text: String) throws {
    switch text {
    case "cpu": self = .cpu
    case "emulated": self = .emulated
    default:
      if text.hasPrefix("cuda"), let i = Int(text.dropFirst(5)) ?? (text == "cuda" ? 0 : nil) {
        self = .cuda(i)
      } else {
        throw LoomError("unknown device '\(text)'; valid values: cpu, emulated, cuda:N")
      }
    }
  }
}

extension Device {
  /// Where creation functions (`zeros`, `rand`, `Tensor(values)`, …) put new tensors, like
  /// `torch.set_default_device`: the CLI's `--device` flag and `LOOM_TEST_DEVICE` in tests set it.
  nonisolated(unsafe) public static var `default`: Device = .cpu
}
