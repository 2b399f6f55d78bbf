import CLoomKernels

/// bitsandbytes' weight formats through the C quantizers and fused kernels (quant.c, body_quant.h).
extension CPUBackend {
  public func quantize(_ w: Tensor, as format: QuantizedWeightFormat) -> QuantizedWeight {
    let n = w.shape[0], k = w.shape[1]
    switch format {
    case .int8:
      let codes = Tensor(cpu: [n, k], dtype: .uint8), scb = Tensor(cpu: [n], dtype: .float32)
      loom_int8_rows_quantize(
        w.pointer(as: Float.self), Int64(n), Int64(k), int8Pointer(codes), scb.pointer(as: Float.self))
      return QuantizedWeight(format: format, outFeatures: n, inFeatures: k, codes: codes, absmax: scb)
    case .fourBit(let type, let bs, let doubleQuant):
      let codes = Tensor(cpu: [n, k / 2], dtype: .uint8), absmax = Tensor(cpu: [n * k / bs], dtype: .float32)
      loom_q4_quantize(
        w.pointer(as: Float.self), Int64(n * k), Int64(bs), Self.q4Type(type), codes.pointer(as: UInt8.self),
        absmax.pointer(as: Float.self))
      guard doubleQuant else {
        return QuantizedWeight(format: format, outFeatures: n, inFeatures: k, codes: codes, absmax: absmax)
      }
      // compress_statistics: offset = mean(absmax), then block-wise 8-bit codes of absmax − offset.
      let offset = Float(absmax.mean().item())
      let centred = Tensor(cpu: absmax.shape, dtype: .float32)
      let src = absmax.pointer(as: Float.self), dst = centred.pointer(as: Float.self)
      for i in 0..<absmax.count { dst[i] = src[i] - offset }
      let (q, nested) = quantizeBlockwise(centred, blockSize: QuantizedWeightFormat.nestedBlockSize)
      return QuantizedWeight(
        format: format, outFeatures: n, inFeatures: k, codes: codes, absmax: q, nestedAbsmax: nested, offset: offset)
    }
  }

  public func dequantize(_ q: QuantizedWeight) -> Tensor {
    let (n, k) = (q.outFeatures, q.inFeatures)
    let out = Tensor(cpu: [n, k], dtype: .float32)
    switch q.format {
    case .int8:
      loom_int8_rows_dequantize(
        int8Pointer(q.codes), q.absmax.pointer(as: Float.self), Int64(n), Int64(k), out.pointer(as: Float.self))
    case .fourBit(let type, let bs, _):
      let absmax = floatAbsmax(q)
      loom_q4_dequantize(
        q.codes.pointer(as: UInt8.self), absmax.pointer(as: Float.self), Int64(n * k), Int64(bs), Self.q4Type(type),
        out.pointer(as: Float.self))
    }
    return out
  }

  public func quantizedLinear(_ x: Tensor, weight q: QuantizedWeight, bias: Tensor?) -> Tensor {
    let m = x.shape[0], (n, k) = (q.outFeatures, q.inFeatures)
    let y = Tensor(cpu: [m, n], dtype: .float32)
    let b = bias?.contiguous()
    let bp: UnsafePointer<Float>? = b.map { UnsafePointer($0.pointer(as: Float.self)) }
    let xp = x.pointer(as: Float.self), yp = y.pointer(as: Float.self)
    switch q.format {
    case .int8:
      loom_int8_linear(xp, Int64(m), Int64(k), int8Pointer(q.codes), q.absmax.pointer(as: Float.self), Int64(n), bp, yp)
    case .fourBit(let type, let bs, _):
      if let nested = q.nestedAbsmax {
        loom_q4_linear_dq(
          xp, Int64(m), Int64(k), q.codes.pointer(as: UInt8.self), q.absmax.pointer(as: UInt8.self),
          nested.pointer(as: Float.self), Int64(QuantizedWeightFormat.nestedBlockSize), q.offset, Int64(n), Int64(bs),
          Self.q4Type(type), bp, yp)
      } else {
        loom_q4_linear(
          xp, Int64(m), Int64(k), q.codes.pointer(as: UInt8.self), q.absmax.pointer(as: Float.self), Int64(n),
          Int64(bs), Self.q4Type(type), bp, yp)
      }
    }
    withExtendedLifetime(b) {}
    return y
  }

  public func quantizeBlockwise(_ x: Tensor, blockSize: Int) -> (codes: Tensor, absmax: Tensor) {
    let blocks = (x.count + blockSize - 1) / blockSize
    let codes = Tensor(cpu: x.shape, dtype: .uint8), absmax = Tensor(cpu: [blocks], dtype: .float32)
    loom_q8_blockwise_quantize(
      x.pointer(as: Float.self), Int64(x.count), Int64(blockSize), codes.pointer(as: UInt8.self),
      absmax.pointer(as: Float.self))
    return (codes, absmax)
  }

  public func dequantizeBlockwise(codes: Tensor, absmax: Tensor, blockSize: Int) -> Tensor {
    let out = Tensor(cpu: codes.shape, dtype: .float32)
    loom_q8_blockwise_dequantize(
      codes.pointer(as: UInt8.self), absmax.pointer(as: Float.self), Int64(codes.count), Int64(blockSize),
      out.pointer(as: Float.self))
    return out
  }

  /// The 4-bit absmax in float32, decoding double quantization (code · nested + offset, as bitsandbytes).
  private func floatAbsmax(_ q: QuantizedWeight) -> Tensor {
    guard let nested = q.nestedAbsmax else { return q.absmax }
    let a = dequantizeBlockwise(codes: q.absmax, absmax: nested, blockSize: QuantizedWeightFormat.nestedBlockSize)
    let p = a.pointer(as: Float.self)
    for i in 0..<a.count { p[i] += q.offset }
    return a
  }

  private func int8Pointer(_ t: Tensor) -> UnsafeMutablePointer<Int8> {
    UnsafeMutableRawPointer(t.pointer(as: UInt8.self)).assumingMemoryBound(to: Int8.self)
  }

  private static func q4Type(_ t: QuantType4bit) -> Int32 {
    t == .nf4 ? Int32(LOOM_Q4_NF4.rawValue) : Int32(LOOM_Q4_FP4.rawValue)
  }
}
