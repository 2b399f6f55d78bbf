import CLoomKernels

/// dtype conversions over host memory (C kernels for the float formats).
enum Cast {
  static func convert(
    _ src: UnsafeMutableRawPointer, from: DType, to dst: UnsafeMutableRawPointer, as target: DType,
    count n: Int
  ) {
    switch (from, target) {
    case (.float32, .float64):
      loom_f32_to_f64(src.assumingMemoryBound(to: Float.self), dst.assumingMemoryBound(to: Double.self), Int64(n))
    case (.float64, .float32):
      loom_f64_to_f32(src.assumingMemoryBound(to: Double.self), dst.assumingMemoryBound(to: Float.self), Int64(n))
    case (.float32, .bfloat16):
      loom_f32_to_bf16(src.assumingMemoryBound(to: Float.self), dst.assumingMemoryBound(to: UInt16.self), Int64(n))
    case (.bfloat16, .float32):
      loom_bf16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst.assumingMemoryBound(to: Float.self), Int64(n))
    case (.float32, .float16):
      loom_f32_to_f16(src.assumingMemoryBound(to: Float.self), dst.assumingMemoryBound(to: UInt16.self), Int64(n))
    case (.float16, .float32):
      loom_f16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst.assumingMemoryBound(to: Float.self), Int64(n))
    case (.bool, .float32):
      // Masks become float factors in backward passes (relu, maximum, clamp): keep it one pass.
      let s = src.assumingMemoryBound(to: UInt8.self), d = dst.assumingMemoryBound(to: Float.self)
      for i in 0..<n { d[i] = s[i] != 0 ? 1 : 0 }
    case (.int64, .float32):
      let s = src.assumingMemoryBound(to: Int64.self), d = dst.assumingMemoryBound(to: Float.self)
      for i in 0..<n { d[i] = Float(s[i]) }
    case (.float16, _), (.bfloat16, _), (_, .float16), (_, .bfloat16):
      throughFloat32(src, from: from, to: dst, as: target, count: n)
    default:
      let values = readDoubles(src, dtype: from, count: n)
      writeDoubles(values, dst, dtype: target)
    }
  }

  /// A conversion with a 16-bit float side in two steps, each one of `convert`'s direct
  /// float32 cases.
  static func throughFloat32(
    _ src: UnsafeMutableRawPointer, from: DType, to dst: UnsafeMutableRawPointer, as target: DType,
    count n: Int
  ) {
    let tmp = Storage(byteCount: max(n, 1) * 4)
    convert(src, from: from, to: tmp.data, as: .float32, count: n)
    convert(tmp.data, from: .float32, to: dst, as: target, count: n)
  }

  static func readDoubles(_ raw: UnsafeMutableRawPointer, dtype: DType, count n: Int) -> [Double] {
    switch dtype {
    case .float32: let p = raw.assumingMemoryBound(to: Float.self); return (0..<n).map { Double(p[$0]) }
    case .float64: let p = raw.assumingMemoryBound(to: Double.self); return (0..<n).map { p[$0] }
    case .int64: let p = raw.assumingMemoryBound(to: Int64.self); return (0..<n).map { Double(p[$0]) }
    case .int32: let p = raw.assumingMemoryBound(to: Int32.self); return (0..<n).map { Double(p[$0]) }
    case .uint8: let p = raw.assumingMemoryBound(to: UInt8.self); return (0..<n).map { Double(p[$0]) }
    case .bool: let p = raw.assumingMemoryBound(to: Bool.self); return (0..<n).map { p[$0] ? 1 : 0 }
    case .float16, .bfloat16:
      let tmp = Storage(byteCount: max(n, 1) * 4)
      convert(raw, from: dtype, to: tmp.data, as: .float32, count: n)
      return readDoubles(tmp.data, dtype: .float32, count: n)
    }
  }

  static func writeDoubles(_ values: [Double], _ raw: UnsafeMutableRawPointer, dtype: DType) {
    let n = values.count
    switch dtype {
    case .float32: let p = raw.assumingMemoryBound(to: Float.self); for i in 0..<n { p[i] = Float(values[i]) }
    case .float64: let p = raw.assumingMemoryBound(to: Double.self); for i in 0..<n { p[i] = values[i] }
    case .int64: let p = raw.assumingMemoryBound(to: Int64.self); for i in 0..<n { p[i] = Int64(values[i]) }
    case .int32: let p = raw.assumingMemoryBound(to: Int32.self); for i in 0..<n { p[i] = Int32(values[i]) }
    case .uint8: let p = raw.assumingMemoryBound(to: UInt8.self); for i in 0..<n { p[i] = UInt8(clamping: Int(values[i])) }
    case .bool: let p = raw.assumingMemoryBound(to: Bool.self); for i in 0..<n { p[i] = values[i] != 0 }
    case .float16, .bfloat16:
      let tmp = Storage(byteCount: max(n, 1) * 4)
      writeDoubles(values, tmp.data, dtype: .float32)
      convert(tmp.data, from: .float32, to: raw, as: dtype, count: n)
    }
  }
}
