import CLoomKernels

/// Copies a strided view into memory laid out with given strides (dense row-major, or
/// another view's strides).
enum StridedCopy {
  /// Merges adjacent dimensions that are contiguous relative to each other in both layouts,
  /// so mostly-dense copies run with long inner rows.
  static func coalesce(shape: [Int], _ a: [Int], _ b: [Int]) -> ([Int], [Int], [Int]) {
    var outShape: [Int] = []
    var outA: [Int] = []
    var outB: [Int] = []
    for d in shape.indices where shape[d] != 1 {
      if let last = outShape.last, outA.last == a[d] * shape[d], outB.last == b[d] * shape[d] {
        outShape[outShape.count - 1] = last * shape[d]
        outA[outA.count - 1] = a[d]
        outB[outB.count - 1] = b[d]
      } else {
        outShape.append(shape[d])
        outA.append(a[d])
        outB.append(b[d])
      }
    }
    if outShape.isEmpty { return ([1], [1], [1]) }
    return (outShape, outA, outB)
  }

  /// Copies `src` into dense row-major memory at `dst`.
  static func copy(_ src: Tensor, to dst: UnsafeMutableRawPointer) {
    copy(src, to: dst, dstStrides: Shape.contiguousStrides(src.shape))
  }

  /// Copies `src` (a view of shape S) into memory at `dst` laid out with `dstStrides`.
  static func copy(_ src: Tensor, to dst: UnsafeMutableRawPointer, dstStrides: [Int]) {
    let n = src.count
    if n == 0 { return }
    let (shape, srcStrides, outStrides) = coalesce(shape: src.shape, src.strides, dstStrides)
    if shape.count == 1 && srcStrides[0] == 1 && outStrides[0] == 1 {
      dst.copyMemory(from: src.rawPointer, byteCount: n * src.dtype.byteSize)
      return
    }
    if src.dtype == .float32 && shape.count <= 8 {
      // The C kernel: parallel over rows, memcpy for dense rows (slice gradients, views).
      loom_strided_copy2_f32(
        src.rawPointer.assumingMemoryBound(to: Float.self), shape.map { Int64($0) },
        srcStrides.map { Int64($0) }, Int32(shape.count), dst.assumingMemoryBound(to: Float.self),
        outStrides.map { Int64($0) })
      return
    }
    switch src.dtype.byteSize {
    case 8: scatter(src.rawPointer, srcStrides, dst, outStrides, shape, UInt64.self)
    case 4: scatter(src.rawPointer, srcStrides, dst, outStrides, shape, UInt32.self)
    case 2: scatter(src.rawPointer, srcStrides, dst, outStrides, shape, UInt16.self)
    default: scatter(src.rawPointer, srcStrides, dst, outStrides, shape, UInt8.self)
    }
  }

  private static func scatter<T>(
    _ srcRaw: UnsafeMutableRawPointer, _ srcStrides: [Int], _ dstRaw: UnsafeMutableRawPointer,
    _ dstStrides: [Int], _ shape: [Int], _: T.Type
  ) {
    let src = srcRaw.assumingMemoryBound(to: T.self)
    let dst = dstRaw.assumingMemoryBound(to: T.self)
    let rank = shape.count
    let inner = shape[rank - 1]
    let si = srcStrides[rank - 1]
    let di = dstStrides[rank - 1]
    let outer = Shape.count(Array(shape.dropLast()))
    var index = [Int](repeating: 0, count: rank - 1)
    for _ in 0..<outer {
      var sb = 0
      var db = 0
      for k in 0..<(rank - 1) {
        sb += index[k] * srcStrides[k]
        db += index[k] * dstStrides[k]
      }
      if si == 1 && di == 1 {
        (dst + db).update(from: src + sb, count: inner)
      } else {
        var p = src + sb
        var q = dst + db
        for _ in 0..<inner {
          q.pointee = p.pointee
          p += si
          q += di
        }
      }
      var k = rank - 2
      while k >= 0 {
        index[k] += 1
        if index[k] < shape[k] { break }
        index[k] = 0
        k -= 1
      }
    }
  }
}
