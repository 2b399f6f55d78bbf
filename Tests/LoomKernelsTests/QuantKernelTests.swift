import CLoomKernels
import XCTest

/// The fused dequantizing products (body_quant.h) on every SIMD level against dequantize-then-matmul in
/// double, for decode (m = 1) and small batches, odd row counts (threading splits) and several widths.
final class QuantKernelTests: XCTestCase {
  let shapes: [(m: Int, k: Int, n: Int)] = [(1, 64, 5), (1, 768, 37), (3, 192, 17), (16, 256, 40), (1, 2048, 300)]

  func reference(_ x: [Float], _ w: [Float], _ bias: [Float], m: Int, k: Int, n: Int) -> [Double] {
    var y = [Double](repeating: 0, count: m * n)
    for r in 0..<m {
      for j in 0..<n {
        var s = Double(bias[j])
        for i in 0..<k { s += Double(x[r * k + i]) * Double(w[j * k + i]) }
        y[r * n + j] = s
      }
    }
    return y
  }

  /// Tolerance relative to the output's scale (sums of k products).
  func tolerance(_ ref: [Double]) -> Double { 1e-4 * (ref.map(abs).max() ?? 1) }

  func test4bitMatchesDequantizedProduct() {
    var rng = Rng(7)
    for type in [Int32(LOOM_Q4_NF4.rawValue), Int32(LOOM_Q4_FP4.rawValue)] {
      for (m, k, n) in shapes {
        let w = rng.floats(n * k, -0.1, 0.1), x = rng.floats(m * k), bias = rng.floats(n)
        var packed = [UInt8](repeating: 0, count: n * k / 2), absmax = [Float](repeating: 0, count: n * k / 64)
        loom_q4_quantize(w, Int64(n * k), 64, type, &packed, &absmax)
        var deq = [Float](repeating: 0, count: n * k)
        loom_q4_dequantize(packed, absmax, Int64(n * k), 64, type, &deq)
        let ref = reference(x, deq, bias, m: m, k: k, n: n)
        forEachISA { bits in
          var y = [Float](repeating: .nan, count: m * n)
          loom_q4_linear(x, Int64(m), Int64(k), packed, absmax, Int64(n), 64, type, bias, &y)
          check(y, ref, rtol: 0, atol: tolerance(ref), "q4 type \(type) m \(m) k \(k) n \(n) simd \(bits)")
        }
      }
    }
  }

  func testDoubleQuantizedAbsmaxMatchesDequantizedProduct() {
    var rng = Rng(8)
    let (m, k, n) = (2, 512, 70)  // 560 blocks: three nested blocks of 256, the last partial
    let w = rng.floats(n * k, -0.1, 0.1), x = rng.floats(m * k), bias = rng.floats(n)
    var packed = [UInt8](repeating: 0, count: n * k / 2), absmax = [Float](repeating: 0, count: n * k / 64)
    loom_q4_quantize(w, Int64(n * k), 64, Int32(LOOM_Q4_NF4.rawValue), &packed, &absmax)
    let offset = absmax.reduce(0, +) / Float(absmax.count)
    let centred = absmax.map { $0 - offset }
    var q = [UInt8](repeating: 0, count: absmax.count), nested = [Float](repeating: 0, count: 3)
    loom_q8_blockwise_quantize(centred, Int64(centred.count), 256, &q, &nested)
    var decoded = [Float](repeating: 0, count: absmax.count)
    loom_q8_blockwise_dequantize(q, nested, Int64(q.count), 256, &decoded)
    decoded = decoded.map { $0 + offset }
    XCTAssertLessThan(zip(decoded, absmax).map { abs($0 - $1) }.max()!, 0.01 * absmax.max()!)
    var deq = [Float](repeating: 0, count: n * k)
    loom_q4_dequantize(packed, decoded, Int64(n * k), 64, Int32(LOOM_Q4_NF4.rawValue), &deq)
    let ref = reference(x, deq, bias, m: m, k: k, n: n)
    for rows in [1, m] {
      forEachISA { bits in
        var y = [Float](repeating: .nan, count: rows * n)
        loom_q4_linear_dq(
          x, Int64(rows), Int64(k), packed, q, nested, 256, offset, Int64(n), 64, Int32(LOOM_Q4_NF4.rawValue), bias,
          &y)
        check(y, Array(ref[0..<(rows * n)]), rtol: 0, atol: tolerance(ref), "q4 double quant m \(rows) simd \(bits)")
      }
    }
  }

  func testInt8MatchesDequantizedProduct() {
    var rng = Rng(9)
    for (m, k, n) in shapes + [(4, 48, 9)] {
      var w = rng.floats(n * k, -0.1, 0.1)
      for i in 0..<k { w[i] = 0 }  // an all-zero row quantizes to zero codes, not NaN
      let x = rng.floats(m * k), bias = rng.floats(n)
      var codes = [Int8](repeating: 0, count: n * k), scb = [Float](repeating: 0, count: n)
      loom_int8_rows_quantize(w, Int64(n), Int64(k), &codes, &scb)
      XCTAssertEqual(scb[0], 0)
      XCTAssertTrue(codes[0..<k].allSatisfy { $0 == 0 })
      XCTAssertEqual(codes[k..<(2 * k)].map { abs(Int($0)) }.max(), 127)
      var deq = [Float](repeating: 0, count: n * k)
      loom_int8_rows_dequantize(codes, scb, Int64(n), Int64(k), &deq)
      let ref = reference(x, deq, bias, m: m, k: k, n: n)
      forEachISA { bits in
        var y = [Float](repeating: .nan, count: m * n)
        loom_int8_linear(x, Int64(m), Int64(k), codes, scb, Int64(n), bias, &y)
        check(y, ref, rtol: 0, atol: tolerance(ref), "int8 m \(m) k \(k) n \(n) simd \(bits)")
      }
    }
  }
}
