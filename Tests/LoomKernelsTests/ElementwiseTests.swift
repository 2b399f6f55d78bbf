import CLoomKernels
import XCTest

final class ElementwiseTests: XCTestCase {
  func testDispatchWidth() {
    let f = cpuFlags()
    #if arch(x86_64)
    let want = f.contains("avx512f") && f.contains("avx512dq") && f.contains("avx512bw") && f.contains("avx512vl")
      ? 512 : (f.contains("avx2") && f.contains("fma") ? 256 : 0)
    XCTAssertEqual(Int(loom_simd_width_bits()), want)
    #else
    XCTAssertEqual(loom_simd_width_bits(), 0)
    #endif
    XCTAssertGreaterThanOrEqual(loom_num_threads(), 1)
  }

  func testBinaryAffineAxpyFill() {
    forEachISA { w in
      var rng = Rng(1)
      for n in tailSizes {
        let a = rng.floats(n), b = rng.floats(n, 0.5, 2)
        var out = [Float](repeating: 0, count: n)
        let ops: [(String, (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int64) -> Void, (Float, Float) -> Float)] = [
          ("add", loom_add_f32, (+)), ("sub", loom_sub_f32, (-)), ("mul", loom_mul_f32, (*)), ("div", loom_div_f32, (/)),
        ]
        for (name, fn, ref) in ops {
          fn(a, b, &out, Int64(n))
          XCTAssertEqual(out, zip(a, b).map(ref), "\(name) n=\(n) w=\(w)")
        }
        loom_affine_f32(a, 1.5, -0.25, &out, Int64(n))
        check(out, a.map { Double($0) * 1.5 - 0.25 }, rtol: 1e-7, atol: 1e-7, "affine n=\(n) w=\(w)")
        var y = b
        loom_axpy_f32(-0.75, a, &y, Int64(n))
        check(y, zip(a, b).map { -0.75 * Double($0) + Double($1) }, rtol: 1e-7, atol: 1e-7, "axpy n=\(n) w=\(w)")
        loom_fill_f32(&out, 3.25, Int64(n))
        XCTAssertEqual(out, [Float](repeating: 3.25, count: n))
      }
    }
  }

  func testRowwiseColwise() {
    forEachISA { w in
      var rng = Rng(2)
      for (rows, cols) in shapes + [(0, 4), (4, 0), (2000, 33)] {
        let a = rng.floats(rows * cols), rb = rng.floats(cols, 0.5, 2), cb = rng.floats(rows, 0.5, 2)
        var out = [Float](repeating: 0, count: rows * cols)
        let refs: [(Float, Float) -> Float] = [(+), (-), (*), (/)]
        for op in 0..<4 {
          loom_rowwise_f32(Int32(op), a, rb, &out, Int64(rows), Int64(cols))
          XCTAssertEqual(out, (0..<rows * cols).map { refs[op](a[$0], rb[$0 % cols]) }, "rowwise \(op) \(rows)x\(cols) w=\(w)")
          loom_colwise_f32(Int32(op), a, cb, &out, Int64(rows), Int64(cols))
          XCTAssertEqual(out, (0..<rows * cols).map { refs[op](a[$0], cb[$0 / cols]) }, "colwise \(op) \(rows)x\(cols) w=\(w)")
        }
      }
    }
  }
}
