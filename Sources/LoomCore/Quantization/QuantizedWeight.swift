/// bitsandbytes' 4-bit data types: NF4 (normal-float quantiles, QLoRA) or FP4 (1 sign, 2 exponent, 1 mantissa bit).
public enum QuantType4bit: String, Sendable, CaseIterable, CustomStringConvertible {
  case nf4, fp4
  public var description: String { rawValue }
}

/// How a Linear's weight [out, in] is stored.
public enum QuantizedWeightFormat: Equatable, Sendable, CustomStringConvertible {
  /// Weight-only int8: one absmax per output row (bitsandbytes' SCB), codes = round(w · 127 / SCB).
  case int8
  /// Two 4-bit codes per byte (the first in the high nibble) and one absmax per block of `blockSize`
  /// consecutive weights of a row; with `doubleQuant` the absmax are themselves 8-bit codes (block 256, with
  /// bitsandbytes' mean offset), as `compress_statistics` / `bnb_4bit_use_double_quant` store them.
  case fourBit(QuantType4bit, blockSize: Int, doubleQuant: Bool)

  /// bitsandbytes' 4-bit block size.
  public static let blockSize4bit = 64
  /// Block size of the double quantization of the absmax.
  public static let nestedBlockSize = 256

  public var description: String {
    switch self {
    case .int8: return "int8"
    case .fourBit(let t, let bs, let dq): return "\(t) (block \(bs)\(dq ? ", double quant" : ""))"
    }
  }

  /// The input widths this format can store: 4-bit blocks must tile each row (and the kernels read 16 codes at
  /// a time); int8 rows need a multiple of 16.
  public func accepts(inFeatures k: Int) -> Bool {
    switch self {
    case .int8: return k > 0 && k % 16 == 0
    case .fourBit(_, let bs, _): return k > 0 && k % bs == 0
    }
  }
}

/// A quantized weight [outFeatures, inFeatures] in one of bitsandbytes' formats. Tensors live on one device:
/// `codes` is uint8 ([out, in/2] packed 4-bit, or [out, in] int8 bit patterns); `absmax` is float32 ([out] SCB
/// for int8, [out · in / blockSize] for 4-bit) or, double-quantized, uint8 codes with `nestedAbsmax` (float32,
/// one per 256) and `offset`.
public struct QuantizedWeight {
  public let format: QuantizedWeightFormat
  public let outFeatures: Int
  public let inFeatures: Int
  public let codes: Tensor
  public let absmax: Tensor
  public let nestedAbsmax: Tensor?
  public let offset: Float

  public init(
    format: QuantizedWeightFormat, outFeatures: Int, inFeatures: Int, codes: Tensor, absmax: Tensor,
    nestedAbsmax: Tensor? = nil, offset: Float = 0
  ) {
    (self.format, self.outFeatures, self.inFeatures) = (format, outFeatures, inFeatures)
    (self.codes, self.absmax, self.nestedAbsmax, self.offset) = (codes, absmax, nestedAbsmax, offset)
  }

  public var device: Device { codes.device }

  /// Bytes of the stored tensors.
  public var byteCount: Int {
    [codes, absmax, nestedAbsmax].compactMap { $0 }.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
  }

  /// The same weight with every tensor passed through `transform` (device moves).
  public func mapTensors(_ transform: (Tensor) -> Tensor) -> QuantizedWeight {
    QuantizedWeight(
      format: format, outFeatures: outFeatures, inFeatures: inFeatures, codes: transform(codes),
      absmax: transform(absmax), nestedAbsmax: nestedAbsmax.map(transform), offset: offset)
  }
}

/// Quantizing and dequantizing weights (shape checks here, arithmetic in the backend).
public enum Quantization {
  /// Rows at most this many go through the fused dequantizing kernels; longer inputs (prefill, training)
  /// dequantize the weight once into a temporary and run one GEMM.
  public static let fusedRowLimit = 16

  /// Quantizes a dense float32 weight [out, in].
  public static func quantize(_ weight: Tensor, as format: QuantizedWeightFormat) throws -> QuantizedWeight {
    // A half-precision model's weight is quantized from its float32 value (exact: every half value is one).
    if weight.dtype.isHalf && weight.rank == 2 { return try quantize(weight.detach().to(.float32), as: format) }
    guard weight.rank == 2, weight.dtype == .float32 else {
      throw LoomError("quantize: expected a float32, bfloat16 or float16 weight [out, in], got \(weight.dtype) \(weight.shape)")
    }
    guard format.accepts(inFeatures: weight.shape[1]) else {
      throw LoomError(
        "quantize: in_features \(weight.shape[1]) cannot be stored as \(format) "
          + "(needs a positive multiple of \(format == .int8 ? 16 : blockSize(format)))")
    }
    if case .fourBit(_, let bs, _) = format, bs % 16 != 0 {
      throw LoomError("quantize: 4-bit block size \(bs) must be a multiple of 16")
    }
    return weight.backend.quantize(weight.detach().contiguous(), as: format)
  }

  /// The float32 weight [out, in] the codes stand for (bitsandbytes' dequantize_4bit / int8_vectorwise_dequant).
  public static func dequantize(_ weight: QuantizedWeight) -> Tensor {
    weight.codes.backend.dequantize(weight)
  }

  /// bitsandbytes' `quantize_blockwise` with the signed dynamic map: uint8 codes and one absmax per block.
  public static func quantizeBlockwise(_ x: Tensor, blockSize: Int) -> (codes: Tensor, absmax: Tensor) {
    x.backend.quantizeBlockwise(x.detach().contiguous(), blockSize: blockSize)
  }

  public static func dequantizeBlockwise(codes: Tensor, absmax: Tensor, blockSize: Int) -> Tensor {
    codes.backend.dequantizeBlockwise(codes: codes.contiguous(), absmax: absmax.contiguous(), blockSize: blockSize)
  }

  private static func blockSize(_ format: QuantizedWeightFormat) -> Int {
    if case .fourBit(_, let bs, _) = format { return bs }
    return 16
  }
}
