import LoomCore

/// Hugging Face's `OptimizerNames`: the `optim` values Loom implements, as raw values.
public enum OptimizerNames: String, CaseIterable, Codable, Sendable {
  /// torch.optim.AdamW with HF's decay groups (no decay on biases and norms).
  case adamwTorch = "adamw_torch"
  /// torch.optim.Adam: L2 weight decay added to every gradient (the seeds' autoencoders).
  case adam
  /// torch.optim.SGD with `sgd_momentum`, HF's decay groups.
  case sgd
  /// torch.optim.Adafactor (no first moment; factored second moments), HF's decay groups.
  case adafactor
  /// Aliases of `adamw_torch`: Loom's AdamW is already one fused kernel.
  case adamwTorchFused = "adamw_torch_fused"
  case adamw
  case adamwHf = "adamw_hf"
  /// bitsandbytes' 8-bit AdamW (blockwise-quantized moments; `Adam8bit`), and its aliases.
  case adamwBnb8bit = "adamw_bnb_8bit"
  case adamw8bit = "adamw_8bit"
  case adam8bit

  /// The order error messages list them in.
  static let listed: [OptimizerNames] = [
    .adamwTorch, .adam, .sgd, .adafactor, .adamwTorchFused, .adamw, .adamwHf, .adamwBnb8bit, .adamw8bit, .adam8bit,
  ]

  /// Parses a name, or throws listing the valid ones.
  public init(parsing name: String) throws {
    guard let o = OptimizerNames(rawValue: name) else {
      throw LoomError(
        "unknown optim '\(name)'; valid values: \(Self.listed.map(\.rawValue).joined(separator: ", "))"
      )
    }
    self = o
  }

  public init(from decoder: Decoder) throws {
    try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
  }

  /// The optimizer this name builds (aliases collapse to one), for comparing checkpoints.
  public var canonical: OptimizerNames {
    switch self {
    case .adamwTorchFused, .adamw, .adamwHf: return .adamwTorch
    case .adamw8bit, .adam8bit: return .adamwBnb8bit
    default: return self
    }
  }
}
