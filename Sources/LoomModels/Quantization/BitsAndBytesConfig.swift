import LoomCore
import LoomNN

/// transformers' `BitsAndBytesConfig` (the parts Loom runs): weights of Linear / Conv1D layers quantized at
/// load time, int8 or 4-bit, everything else (embeddings, norms, the LM head) left in float.
public struct BitsAndBytesConfig: Sendable, Equatable {
  public var loadIn8bit: Bool
  public var loadIn4bit: Bool
  /// "nf4" or "fp4" (`bnb_4bit_quant_type`; transformers' default is fp4, the CLI's and QLoRA's nf4).
  public var bnb4bitQuantType: QuantType4bit
  public var bnb4bitUseDoubleQuant: Bool
  /// Module names (a path's last component or the whole path) kept in float: transformers'
  /// `llm_int8_skip_modules`, by default the output head.
  public var skipModules: [String]

  public init(
    loadIn8bit: Bool = false, loadIn4bit: Bool = false, bnb4bitQuantType: QuantType4bit = .nf4,
    bnb4bitUseDoubleQuant: Bool = false, skipModules: [String] = ["lm_head", "score", "classifier"]
  ) {
    (self.loadIn8bit, self.loadIn4bit) = (loadIn8bit, loadIn4bit)
    (self.bnb4bitQuantType, self.bnb4bitUseDoubleQuant, self.skipModules) =
      (bnb4bitQuantType, bnb4bitUseDoubleQuant, skipModules)
  }

  /// The weight format, nil when neither 8- nor 4-bit loading is asked for.
  public var format: QuantizedWeightFormat? {
    if loadIn4bit {
      return .fourBit(
        bnb4bitQuantType, blockSize: QuantizedWeightFormat.blockSize4bit, doubleQuant: bnb4bitUseDoubleQuant)
    }
    return loadIn8bit ? .int8 : nil
  }
}

/// What `quantizeModel` did: the layers it quantized and those it left in float, with why.
public struct QuantizationReport: Sendable, Equatable {
  public var format: QuantizedWeightFormat
  public var quantized: [String] = []
  public var keptInFloat: [(path: String, reason: String)] = []
  /// Weight bytes before and after, over the quantized layers.
  public var floatBytes = 0
  public var quantizedBytes = 0

  public static func == (a: Self, b: Self) -> Bool {
    a.format == b.format && a.quantized == b.quantized && a.floatBytes == b.floatBytes
      && a.quantizedBytes == b.quantizedBytes
      && a.keptInFloat.map(\.path) == b.keptInFloat.map(\.path)
      && a.keptInFloat.map(\.reason) == b.keptInFloat.map(\.reason)
  }

  /// One line for the CLI, plus one per layer kept in float.
  public var summary: String {
    var s =
      "quantized \(quantized.count) layers to \(format): weights \(floatBytes / 1_048_576) MiB -> "
      + "\(quantizedBytes / 1_048_576) MiB"
    for k in keptInFloat { s += "\n  kept in float: \(k.path) (\(k.reason))" }
    return s
  }
}

extension Module {
  /// Replaces every Linear and GPT-2 Conv1D (module surgery) by its quantized form, as transformers does for
  /// `from_pretrained(quantization_config=…)`. Layers named in `skipModules` and layers whose width the format
  /// cannot tile (in_features not a multiple of the 4-bit block, or of 16 for int8) stay float and are reported.
  @discardableResult
  public func quantize(_ config: BitsAndBytesConfig) throws -> QuantizationReport {
    try quantize(config) { _, layerWeight in layerWeight }
  }

  /// `quantize(_:)` with the values to quantize supplied per layer: `values(path, layerWeight)` returns the
  /// weight in the layer's own layout — its current weight, or a checkpoint's tensor while loading, so a layer
  /// built empty is quantized without its float weight ever being filled (`QuantizedLoading`).
  func quantize(
    _ config: BitsAndBytesConfig, values: (_ path: String, _ layerWeight: Tensor) throws -> Tensor
  ) throws -> QuantizationReport {
    guard let format = config.format else {
      throw LoomError("quantize: set loadIn8bit or loadIn4bit in the BitsAndBytesConfig")
    }
    var report = QuantizationReport(format: format)
    try replaceModules { path, module in
      let name = path.split(separator: ".").last.map(String.init) ?? path
      let weight: Tensor
      let inFeatures: Int
      if let linear = module as? Linear, !(module is QuantizedLayer) {
        (weight, inFeatures) = (linear.weight, linear.inFeatures)
      } else if let conv = module as? Conv1D, !(module is QuantizedLayer) {
        (weight, inFeatures) = (conv.weight, conv.weight.shape[0])
      } else {
        return nil
      }
      if config.skipModules.contains(name) || config.skipModules.contains(path) {
        report.keptInFloat.append((path, "skipped module (llm_int8_skip_modules)"))
        return nil
      }
      guard weight.dtype == .float32 || weight.dtype.isHalf else {
        report.keptInFloat.append((path, "weight dtype \(weight.dtype), not float32, bfloat16 or float16"))
        return nil
      }
      guard format.accepts(inFeatures: inFeatures) else {
        let need = format == .int8 ? 16 : QuantizedWeightFormat.blockSize4bit
        report.keptInFloat.append((path, "in_features \(inFeatures) is not a multiple of \(need)"))
        return nil
      }
      let source = try values(path, weight)
      let replacement: any QuantizedLayer
      if let conv = module as? Conv1D {
        replacement = try QuantizedConv1D(quantizingWeight: source, bias: conv.bias, as: format)
      } else if let linear = module as? Linear {
        let q = try Quantization.quantize(source, as: format)
        replacement =
          format == .int8 ? Linear8bitLt(quantized: q, bias: linear.bias) : Linear4bit(quantized: q, bias: linear.bias)
      } else {
        return nil
      }
      report.quantized.append(path)
      report.floatBytes += weight.count * weight.dtype.byteSize
      report.quantizedBytes += replacement.quantizedWeight.byteCount
      return replacement
    }
    return report
  }
}
