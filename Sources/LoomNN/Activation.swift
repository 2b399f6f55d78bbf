import LoomCore

/// Activation functions by Hugging Face's names (transformers' `ACT2FN`), as configs
/// spell them in `activation_function` / `hidden_act`. Call one on a tensor:
/// `Activation.geluNew(x)`.
public enum Activation: String, CaseIterable, Sendable {
  /// Exact GELU, x·Φ(x) with the error function (PyTorch's default `nn.GELU()`).
  case gelu
  /// GPT-2's tanh approximation; `gelu_pytorch_tanh`, `gelu_fast` and `gelu_accurate`
  /// are the same formula written differently.
  case geluNew = "gelu_new"
  case geluPytorchTanh = "gelu_pytorch_tanh"
  case geluFast = "gelu_fast"
  case geluAccurate = "gelu_accurate"
  /// Exact GELU clipped to [−10, 10].
  case gelu10 = "gelu_10"
  /// x·σ(1.702·x) (CLIP).
  case quickGelu = "quick_gelu"
  case relu
  /// min(max(x, 0), 6).
  case relu6
  /// relu(x)².
  case relu2
  /// Negative slope 0.01, like `nn.LeakyReLU()`.
  case leakyRelu = "leaky_relu"
  /// x·σ(x); `swish` is the same function.
  case silu
  case swish
  /// x·tanh(softplus(x)).
  case mish
  case tanh
  case sigmoid
  /// The identity.
  case linear

  /// The activation named `name`, or an error listing the valid names.
  public init(name: String) throws {
    guard let a = Activation(rawValue: name) else { throw LoomError(Self.unknownMessage(name)) }
    self = a
  }

  static func unknownMessage(_ name: String) -> String {
    "unknown activation '\(name)' (valid: \(allCases.map(\.rawValue).joined(separator: ", ")))"
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    switch self {
    case .gelu: return x.gelu()
    case .geluNew, .geluPytorchTanh, .geluFast, .geluAccurate: return x.gelu(approximate: "tanh")
    case .gelu10: return x.gelu().clamp(min: -10, max: 10)
    case .quickGelu: return x * (x * 1.702).sigmoid()
    case .relu: return x.relu()
    case .relu6: return x.clamp(min: 0, max: 6)
    case .relu2: return x.relu().square()
    case .leakyRelu: return x.leakyRelu()
    case .silu, .swish: return x.silu()
    case .mish:
      // softplus(x) = max(x, 0) + log(1 + e^−|x|), which never overflows.
      let softplus = x.relu() + ((-x.abs()).exp() + 1).log()
      return x * softplus.tanh()
    case .tanh: return x.tanh()
    case .sigmoid: return x.sigmoid()
    case .linear: return x
    }
  }
}

extension Activation: Codable {
  /// Decoding an unknown name fails with the name and the valid ones.
  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    let name = try c.decode(String.self)
    guard let a = Activation(rawValue: name) else {
      throw DecodingError.dataCorruptedError(in: c, debugDescription: Self.unknownMessage(name))
    }
    self = a
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(rawValue)
  }
}
