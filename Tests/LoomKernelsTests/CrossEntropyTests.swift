import CLoomKernels
import Foundation
import XCTest

final class CrossEntropyTests: XCTestCase {
  func testForwardBackward() {
    forEachISA { w in
      var rng = Rng(10)
      for (rows, cols) in [(1, 1), (3, 7), (17, 16), (5, 17), (2048, 65), (512, 1000), (8, 50257)] {
        for eps: Float in [0, 0.1] {
          let x = rng.floats(rows * cols, -5, 5)
          let t: [Int64] = (0..<rows).map { r in r % 5 == 3 ? -100 : Int64(rng.int(cols)) }
          var loss = [Float](repeating: .nan, count: rows), lse = loss
          let cnt = loom_cross_entropy_f32(x, t, -100, eps, &loss, &lse, Int64(rows), Int64(cols))
          XCTAssertEqual(cnt, Int64(t.filter { $0 != -100 }.count))
          let lp = refLogSoftmax(x, rows, cols)
          var lref = [Double](repeating: 0, count: rows)
          for r in 0..<rows where t[r] != -100 {
            let nll = -lp[r * cols + Int(t[r])]
            let smooth = -(0..<cols).reduce(0.0) { $0 + lp[r * cols + $1] } / Double(cols)
            lref[r] = (1 - Double(eps)) * nll + Double(eps) * smooth
          }
          check(loss, lref, rtol: 2e-6, atol: 2e-6, "ce \(rows)x\(cols) eps=\(eps) w=\(w)")
          let grow = rng.floats(rows, 0.1, 1)
          var dx = [Float](repeating: .nan, count: rows * cols)
          loom_cross_entropy_backward_f32(x, t, -100, eps, lse, grow, &dx, Int64(rows), Int64(cols))
          var dref = [Double](repeating: 0, count: rows * cols)
          for r in 0..<rows where t[r] != -100 {
            for c in 0..<cols {
              let target = (c == Int(t[r]) ? 1 - Double(eps) : 0) + Double(eps) / Double(cols)
              dref[r * cols + c] = Double(grow[r]) * (exp(lp[r * cols + c]) - target)
            }
          }
          check(dx, dref, rtol: 4e-6, atol: 1e-7, "ce_bwd \(rows)x\(cols) eps=\(eps) w=\(w)")
        }
      }
    }
  }
}
