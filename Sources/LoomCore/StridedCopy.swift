import CLoomKernels

/// Copies a strided view into dense row-major memory.
enum StridedCopy {
  /// Merges adjacent dimensions that are laid out contiguously relative to each other,
  /// so a mostly-dense view copies with long inner runs.
  static func coalesce(shape: [Int], strides: [Int]) -> ([Int], [Int]) {
    var outShape: [Int] = []
    var outStrides: [Int] = []
    for (d, s) in zip(shape, strides) where d != 1 {
      if let lastD = outShape.last, let lastS = outStrides.last, lastS == s * d {
        outShape[outShape.count - 1] = lastD * d
        outStrides[outStrides.count - 1] = s
      } else {
        outShape.append(d)
        outStrides.append(s)
      }
    }
    if outShape.isEmpty { return ([1], [1]) }
    return (outShape, outStrides)
  }

  static func copy(_ src: Tensor, to dst: UnsafeMutableRawPointer) {
    let n = src.count
    if n == 0 { return }
    let (shape, strides) = coalesce(shape: src.shape, strides: src.strides)
    if shape.count == 1 && strides[0] == 1 {
      dst.copyMemory(from: src.rawPointer, byteCount: n * src.dtype.byteSize)
      return
    }
    if src.dtype == .float32 && shape.count <= 8 {
      let s64 = shape.map { Int64($0) }
      let t64 = strides.map { Int64($0) }
      loom_strided_copy_f32(
        src.rawPointer.assumingMemoryBound(to: Float.self), s64, t64, Int32(shape.count),
        dst.assumingMemoryBound(to: Float.self))
      return
    }
    switch src.dtype.byteSize {
    case 8: generic(src.rawPointer, dst, shape, strides, UInt64.self)
    case 4: generic(src.rawPointer, dst, shape, strides, UInt32.self)
    case 2: generic(src.rawPointer, dst, shape, strides, UInt16.self)
    default: generic(src.rawPointer, dst, shape, strides, UInt8.self)
    }
  }

  /// Merges adjacent dimensions that are contiguous relative to each other in both layouts.
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

  /// Copies `src` (a view of shape S) into memory at `dst` laid out with `dstStrides`.
  static func copy(_ src: Tensor, to dst: UnsafeMutableRawPointer, dstStrides: [Int]) {
    if src.count == 0 { return }
    if src.dtype == .float32 {
      let (shape, srcStrides, outStrides) = coalesce(shape: src.shape, src.strides, dstStrides)
      if shape.count <= 8 {
        // The C kernel: parallel over rows, memcpy for dense rows (slice gradients, views).
        loom_strided_copy2_f32(
          src.rawPointer.assumingMemoryBound(to: Float.self), shape.map { Int64($0) },
          srcStrides.map { Int64($0) }, Int32(shape.count), dst.assumingMemoryBound(to: Float.self),
          outStrides.map { Int64($0) })
        return
      }
    }
    switch src.dtype.byteSize {
    case 8: scatter(src.rawPointer, src.strides, dst, dstStrides, src.shape, UInt64.self)
    case 4: scatter(src.rawPointer, src.strides, dst, dstStrides, src.shape, UInt32.self)
    case 2: scatter(src.rawPointer, src.strides, dst, dstStrides, src.shape, UInt16.self)
    default: scatter(src.rawPointer, src.strides, dst, dstStrides, src.shape, UInt8.self)
    }
  }

  private static func scatter<T>(
    _ srcRaw: UnsafeMutableRawPointer, _ srcStrides: [Int], _ dstRaw: UnsafeMutableRawPointer,
    _ dstStrides: [Int], _ shape: [Int], _: T.Type
  ) {
    let src = srcRaw.assumingMemoryBound(to: T.self)
    let dst = dstRaw.assumingMemoryBound(to: T.self)
    let rank = shape.count
    if rank == 0 {
      dst.pointee = src.pointee
      return
    }
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
        // Dense rows on both sides (a gradient written into a slice of a wider buffer).
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

  /// Gathers into dense memory: a scatter whose destination strides are row-major.
  private static func generic<T>(
    _ srcRaw: UnsafeMutableRawPointer, _ dstRaw: UnsafeMutableRawPointer, _ shape: [Int],
    _ strides: [Int], _ type: T.Type
  ) {
    scatter(srcRaw, strides, dstRaw, Shape.contiguousStrides(shape), shape, type)
  }
}
