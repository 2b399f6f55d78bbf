import LoomCore
import LoomNN

/// GPT-2's Conv1D with a quantized weight (transformers' bitsandbytes integration turns Conv1D into a
/// Linear4bit / Linear8bitLt over the transposed weight). `weight` holds the codes of Wᵀ [out, in] (uint8,
/// packed for 4-bit), `weight_absmax` the absmax (SCB for int8) and `weight_nested_absmax` the double
/// quantization's block scales.
public final class QuantizedConv1D: Conv1D, QuantizedLayer {
  @Buffer public var weight_absmax: Tensor
  @Buffer public var weight_nested_absmax: Tensor?
  private let _format: QuantizedWeightFormat
  private let _outFeatures: Int
  private let _inFeatures: Int
  private let _offset: Float

  public convenience init(quantizing base: Conv1D, as format: QuantizedWeightFormat) throws {
    try self.init(quantizingWeight: base.weight, bias: base.bias, as: format)
  }

  /// Quantizes `weight` ([in, out], Conv1D's layout; e.g. a checkpoint's tensor as it is loaded) over `bias`.
  public init(quantizingWeight weight: Tensor, bias: Tensor, as format: QuantizedWeightFormat) throws {
    let q = try Quantization.quantize(weight.transpose(0, 1).contiguous(), as: format)
    weight_absmax = q.absmax
    weight_nested_absmax = q.nestedAbsmax
    (_format, _outFeatures, _inFeatures, _offset) = (format, q.outFeatures, q.inFeatures, q.offset)
    super.init(weight: q.codes, bias: bias)
  }

  public var quantizedWeight: QuantizedWeight {
    QuantizedWeight(
      format: _format, outFeatures: _outFeatures, inFeatures: _inFeatures, codes: weight, absmax: weight_absmax,
      nestedAbsmax: weight_nested_absmax, offset: _offset)
  }

  override public func forward(_ x: Tensor) -> Tensor { quantizedLinear(x, weight: quantizedWeight, bias: bias) }

  override public var extraDescription: String { "nf=\(_outFeatures), nx=\(_inFeatures), quant=\(_format)" }
}
