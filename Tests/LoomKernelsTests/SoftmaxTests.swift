import CLoomKernels
import Foundation
import XCTest

func refLogSoftmax(_ x: [Float], _ rows: Int, _ cols: Int) -> [Double] {
  var out = [Double](repeating: 0, count: rows * cols)
  for r in 0..<rows {
    let row = x[r * cols..<(r + 1) * cols].map { Double($0) }
    let m = row.max()!
    let lse = m + log(row.reduce(0.0) { $0 + exp($1 - m) })
    for c in 0..<cols { out[r * cols + c] = row[c] - lse }
  }
  return out
}

final class SoftmaxTests: XCTestCase {
  func testSoftmaxFamily() {
    forEachISA { w in
      var rng = Rng(9)
      for (rows, cols) in shapes + [(8 * 6 * 16, 256)] {
        var x = rng.floats(rows * cols, -6, 6)
        if rows * cols > 3 { x[1] = 1000; x[2] = -.infinity }  // max subtraction, -inf logit
        let n = rows * cols
        let lref = refLogSoftmax(x, rows, cols)
        let sref = lref.map { exp($0) }
        var y = [Float](repeating: .nan, count: n), ly = y, gx = y
        loom_softmax_f32(x, &y, Int64(rows), Int64(cols))
        check(y, sref, rtol: 2e-6, atol: 1e-9, "softmax \(rows)x\(cols) w=\(w)")
        loom_log_softmax_f32(x, &ly, Int64(rows), Int64(cols))
        check(ly, lref, rtol: 2e-6, atol: 2e-6, "log_softmax \(rows)x\(cols) w=\(w)")
        let gy = rng.floats(n, -1, 1)
        // backward from our own forward outputs, reference in double
        var gref = [Double](repeating: 0, count: n), lgref = gref
        for r in 0..<rows {
          var d = 0.0, s = 0.0
          for c in 0..<cols { d += Double(gy[r * cols + c]) * Double(y[r * cols + c]); s += Double(gy[r * cols + c]) }
          for c in 0..<cols {
            let i = r * cols + c
            gref[i] = Double(y[i]) * (Double(gy[i]) - d)
            lgref[i] = Double(gy[i]) - exp(Double(ly[i])) * s
          }
        }
        loom_softmax_backward_f32(y, gy, &gx, Int64(rows), Int64(cols))
        check(gx, gref, rtol: 2e-6, atol: 1e-7, "softmax_bwd \(rows)x\(cols) w=\(w)")
        loom_log_softmax_backward_f32(ly, gy, &gx, Int64(rows), Int64(cols))
        check(gx, lgref, rtol: 2e-6, atol: 1e-6, "log_softmax_bwd \(rows)x\(cols) w=\(w)")
      }
    }
  }
}
