import CLoomKernels
import Foundation
import XCTest

final class NormTests: XCTestCase {
  func testLayerNorm() {
    forEachISA { w in
      var rng = Rng(11)
      for (rows, cols) in shapes + [(2048, 384), (600, 1)] {
        for affine in [true, false] {
          let x = rng.floats(rows * cols, -2, 3).map { $0 + 5 }  // offset mean stresses the variance
          let wt = affine ? rng.floats(cols, 0.5, 1.5) : nil, b = affine ? rng.floats(cols) : nil
          let gy = rng.floats(rows * cols)
          var y = [Float](repeating: .nan, count: rows * cols), mean = [Float](repeating: .nan, count: rows), rstd = mean
          loom_layer_norm_f32(x, wt, b, 1e-5, &y, &mean, &rstd, Int64(rows), Int64(cols))
          var yref = [Double](repeating: 0, count: rows * cols), gxref = yref
          var gwref = [Double](repeating: 0, count: cols), gbref = gwref
          var mref = [Double](repeating: 0, count: rows), rref = mref
          for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let m = row.reduce(0, +) / Double(cols)
            let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(cols)
            let rs = 1 / (v + 1e-5).squareRoot()
            mref[r] = m; rref[r] = rs
            let xh = row.map { ($0 - m) * rs }
            let g = (0..<cols).map { Double(gy[r * cols + $0]) }
            let gw = (0..<cols).map { c in g[c] * (wt.map { Double($0[c]) } ?? 1) }
            let mg = gw.reduce(0, +) / Double(cols)
            let mgx = zip(gw, xh).reduce(0) { $0 + $1.0 * $1.1 } / Double(cols)
            for c in 0..<cols {
              yref[r * cols + c] = xh[c] * (wt.map { Double($0[c]) } ?? 1) + (b.map { Double($0[c]) } ?? 0)
              gxref[r * cols + c] = rs * (gw[c] - mg - xh[c] * mgx)
              gwref[c] += g[c] * xh[c]
              gbref[c] += g[c]
            }
          }
          let tag = "ln \(rows)x\(cols) affine=\(affine) w=\(w)"
          check(mean, mref, rtol: 1e-6, atol: 1e-7, "mean " + tag)
          check(rstd, rref, rtol: 2e-6, "rstd " + tag)
          check(y, yref, rtol: 2e-6, atol: 2e-6, "y " + tag)
          var gx = [Float](repeating: .nan, count: rows * cols)
          var gwt = [Float](repeating: 1, count: cols), gb = gwt  // accumulated into
          gwt.withUnsafeMutableBufferPointer { gwp in
            gb.withUnsafeMutableBufferPointer { gbp in
              loom_layer_norm_backward_f32(gy, x, wt, mean, rstd, &gx, affine ? gwp.baseAddress : nil, affine ? gbp.baseAddress : nil,
                                           Int64(rows), Int64(cols))
            }
          }
          check(gx, gxref, rtol: 1e-5, atol: 2e-5, "gx " + tag)
          if affine {
            check(gwt, gwref.map { $0 + 1 }, rtol: 1e-5, atol: 1e-5 * Double(rows).squareRoot(), "gw " + tag)
            check(gb, gbref.map { $0 + 1 }, rtol: 1e-6, atol: 1e-6 * Double(rows).squareRoot(), "gb " + tag)
          }
        }
      }
    }
  }

  func testRMSNorm() {
    forEachISA { w in
      var rng = Rng(12)
      for (rows, cols) in shapes + [(2048, 384)] {
        for affine in [true, false] {
          let x = rng.floats(rows * cols, -2, 2)
          let wt = affine ? rng.floats(cols, 0.5, 1.5) : nil
          let gy = rng.floats(rows * cols)
          var y = [Float](repeating: .nan, count: rows * cols), rstd = [Float](repeating: .nan, count: rows)
          loom_rms_norm_f32(x, wt, 1e-6, &y, &rstd, Int64(rows), Int64(cols))
          var yref = [Double](repeating: 0, count: rows * cols), gxref = yref, rref = [Double](repeating: 0, count: rows)
          var gwref = [Double](repeating: 0, count: cols)
          for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let rs = 1 / (row.reduce(0) { $0 + $1 * $1 } / Double(cols) + 1e-6).squareRoot()
            rref[r] = rs
            let g = (0..<cols).map { c in Double(gy[r * cols + c]) * (wt.map { Double($0[c]) } ?? 1) }
            let mgx = zip(g, row).reduce(0) { $0 + $1.0 * $1.1 } / Double(cols)
            for c in 0..<cols {
              yref[r * cols + c] = row[c] * rs * (wt.map { Double($0[c]) } ?? 1)
              gxref[r * cols + c] = rs * (g[c] - row[c] * rs * rs * mgx)
              gwref[c] += Double(gy[r * cols + c]) * row[c] * rs
            }
          }
          let tag = "rms \(rows)x\(cols) affine=\(affine) w=\(w)"
          check(rstd, rref, rtol: 2e-6, "rstd " + tag)
          check(y, yref, rtol: 2e-6, atol: 1e-7, "y " + tag)
          var gx = [Float](repeating: .nan, count: rows * cols), gwt = [Float](repeating: 0, count: cols)
          gwt.withUnsafeMutableBufferPointer { gwp in
            loom_rms_norm_backward_f32(gy, x, wt, rstd, &gx, affine ? gwp.baseAddress : nil, Int64(rows), Int64(cols))
          }
          check(gx, gxref, rtol: 1e-5, atol: 2e-6, "gx " + tag)
          if affine { check(gwt, gwref, rtol: 1e-5, atol: 1e-6 * Double(rows).squareRoot(), "gw " + tag) }
        }
      }
    }
  }
}
