import CLoomKernels
import XCTest

final class CopyTests: XCTestCase {
  func refGather(_ src: [Float], _ shape: [Int], _ strides: [Int], _ offset: Int = 0) -> [Float] {
    let total = shape.reduce(1, *)
    var out: [Float] = []
    out.reserveCapacity(total)
    for lin in 0..<total {
      var rem = lin, off = offset
      for d in stride(from: shape.count - 1, through: 0, by: -1) {
        off += (rem % shape[d]) * strides[d]
        rem /= shape[d]
      }
      out.append(src[off])
    }
    return out
  }

  func testStridedCopy() {
    var rng = Rng(15)
    let src = rng.floats(400_000)
    let cases: [([Int], [Int])] = [
      ([], []), ([5], [1]), ([5], [3]), ([7], [0]), ([3, 4], [4, 1]), ([4, 3], [1, 4]), ([2, 3, 4], [12, 1, 3]),
      ([3, 5], [0, 1]), ([3, 5], [1, 0]), ([2, 0, 3], [0, 3, 1]), ([600, 500], [1, 600]), ([8, 6, 64, 32], [12288, 32, 192, 1]),
      ([2, 1, 3, 2, 2, 1, 2, 3], [72, 0, 24, 12, 6, 0, 3, 1]),
    ]
    for (shape, strides) in cases {
      let total = shape.reduce(1, *)
      var dst = [Float](repeating: .nan, count: max(total, 1))
      loom_strided_copy_f32(src, shape.map(Int64.init), strides.map(Int64.init), Int32(shape.count), &dst)
      XCTAssertEqual(Array(dst.prefix(total)), refGather(src, shape, strides), "shape \(shape) strides \(strides)")
    }
  }

  func testConversions() {
    var rng = Rng(16)
    var x = rng.floats(100003, -70000, 70000) + rng.floats(1000, -1e-4, 1e-4) + rng.floats(1000, -1e-7, 1e-7)
    x += [0, -0.0, .infinity, -.infinity, .nan, 65504, 65519.99, 65520, 5.9604645e-8, 2.9802322e-8, 2.98023259e-8,
          Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude, 1.00390625, 1.01171875, 3.4e38]
    let n = x.count
    var d = [Double](repeating: 0, count: n)
    loom_f32_to_f64(x, &d, Int64(n))
    XCTAssertEqual(d.map { Float($0) }.map(\.bitPattern), x.map(\.bitPattern))
    var back = [Float](repeating: 0, count: n)
    let dd = d.map { $0 * 1.0000001 }
    loom_f64_to_f32(dd, &back, Int64(n))
    XCTAssertEqual(back.map(\.bitPattern), dd.map { Float($0).bitPattern })
    var h = [UInt16](repeating: 0, count: n)
    #if arch(x86_64) || arch(arm64)
    loom_f32_to_f16(x, &h, Int64(n))
    for i in 0..<n {
      let want = Float16(x[i])
      if want.isNaN { XCTAssertTrue(Float16(bitPattern: h[i]).isNaN) } else { XCTAssertEqual(h[i], want.bitPattern, "f16 of \(x[i])") }
    }
    var hf = [Float](repeating: 0, count: n)
    let allHalves = (0...0xffff).map { UInt16($0) }
    var hf2 = [Float](repeating: 0, count: allHalves.count)
    loom_f16_to_f32(allHalves, &hf2, Int64(allHalves.count))
    for (i, b) in allHalves.enumerated() {
      let want = Float(Float16(bitPattern: b))
      if want.isNaN { XCTAssertTrue(hf2[i].isNaN) } else { XCTAssertEqual(hf2[i].bitPattern, want.bitPattern, "f16 \(b)") }
    }
    loom_f16_to_f32(h, &hf, Int64(n))
    #endif
    var bf = [UInt16](repeating: 0, count: n)
    loom_f32_to_bf16(x, &bf, Int64(n))
    for i in 0..<n {
      // reference: round to nearest even through double arithmetic
      let v = x[i]
      if v.isNaN { XCTAssertTrue(Float(bitPattern: UInt32(bf[i]) << 16).isNaN); continue }
      let u = v.bitPattern
      if v.isInfinite { XCTAssertEqual(UInt32(bf[i]), u >> 16); continue }
      let lo = Double(Float(bitPattern: u & 0xffff_0000))
      let hiF = Float(bitPattern: (u & 0xffff_0000) &+ 0x10000)
      let hi = hiF.isInfinite ? (v > 0 ? 0x1p128 : -0x1p128) : Double(hiF)
      let dl = abs(Double(v) - lo), dh = abs(Double(v) - hi)
      let pick: UInt32 = (dl < dh || (dl == dh && (u >> 16) & 1 == 0)) ? (u >> 16) : ((u >> 16) + 1)
      XCTAssertEqual(UInt32(bf[i]), pick, "bf16 of \(v)")
    }
    var bff = [Float](repeating: 0, count: n)
    loom_bf16_to_f32(bf, &bff, Int64(n))
    for i in 0..<n where !x[i].isNaN { XCTAssertEqual(bff[i].bitPattern, UInt32(bf[i]) << 16) }
  }
}
