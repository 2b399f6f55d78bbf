import LoomCore

/// A layer whose weight is stored in one of bitsandbytes' quantized formats (frozen; the forward dequantizes
/// on the fly).
public protocol QuantizedLayer: Module {
  var quantizedWeight: QuantizedWeight { get }
}

/// bitsandbytes' `Linear4bit`: NF4 or FP4 codes with block-wise absmax (optionally double-quantized).
/// `weight` holds the packed codes, uint8 [out, in/2] (the bytes of bitsandbytes' [out·in/2, 1]);
/// `weight_absmax` the float32 absmax, or with double quantization its uint8 codes beside
/// `weight_nested_absmax` (the mean offset is a plain field). Built from a float Linear by
/// `init(quantizing:…)`, usually through module surgery.
open class Linear4bit: Linear, QuantizedLayer {
  @Buffer public var weight_absmax: Tensor
  @Buffer public var weight_nested_absmax: Tensor?
  private let _format: QuantizedWeightFormat
  private let _outFeatures: Int
  private let _inFeatures: Int
  private let _offset: Float

  public init(quantized q: QuantizedWeight, bias: Tensor?) {
    precondition(q.format != .int8, "Linear4bit holds 4-bit weights; use Linear8bitLt for int8")
    weight_absmax = q.absmax
    weight_nested_absmax = q.nestedAbsmax
    (_format, _outFeatures, _inFeatures, _offset) = (q.format, q.outFeatures, q.inFeatures, q.offset)
    super.init(weight: q.codes, bias: bias)
  }

  /// Quantizes `base`'s weight (its bias stays float and shared).
  public convenience init(
    quantizing base: Linear, quantType: QuantType4bit = .nf4, doubleQuant: Bool = false,
    blockSize: Int = QuantizedWeightFormat.blockSize4bit
  ) throws {
    let q = try Quantization.quantize(
      base.weight, as: .fourBit(quantType, blockSize: blockSize, doubleQuant: doubleQuant))
    self.init(quantized: q, bias: base.bias)
  }

  public var quantizedWeight: QuantizedWeight {
    QuantizedWeight(
      format: _format, outFeatures: _outFeatures, inFeatures: _inFeatures, codes: weight, absmax: weight_absmax,
      nestedAbsmax: weight_nested_absmax, offset: _offset)
  }

  override open var inFeatures: Int { _inFeatures }
  override open var outFeatures: Int { _outFeatures }

  override open func forward(_ x: Tensor) -> Tensor { quantizedLinear(x, weight: quantizedWeight, bias: bias) }

  override open var extraDescription: String {
    "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(pythonBool(bias != nil)), quant=\(_format)"
  }
}

/// bitsandbytes' `Linear8bitLt` as weight-only int8: `weight` holds the codes (int8 bit patterns in uint8
/// [out, in]) and `SCB` the per-row absmax, the names transformers saves. The input stays float32 (no
/// LLM.int8() activation quantization or outlier split): decode on a CPU is bound by reading the weights, so
/// int8 weights with float activations get the speed-up at float accuracy.
open class Linear8bitLt: Linear, QuantizedLayer {
  @Buffer public var SCB: Tensor
  private let _inFeatures: Int

  public init(quantized q: QuantizedWeight, bias: Tensor?) {
    precondition(q.format == .int8, "Linear8bitLt holds int8 weights; use Linear4bit for 4-bit")
    SCB = q.absmax
    _inFeatures = q.inFeatures
    super.init(weight: q.codes, bias: bias)
  }

  public convenience init(quantizing base: Linear) throws {
    self.init(quantized: try Quantization.quantize(base.weight, as: .int8), bias: base.bias)
  }

  public var quantizedWeight: QuantizedWeight {
    QuantizedWeight(format: .int8, outFeatures: SCB.shape[0], inFeatures: _inFeatures, codes: weight, absmax: SCB)
  }

  override open var inFeatures: Int { _inFeatures }

  override open func forward(_ x: Tensor) -> Tensor { quantizedLinear(x, weight: quantizedWeight, bias: bias) }

  override open var extraDescription: String {
    "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(pythonBool(bias != nil)), quant=int8"
  }
}
