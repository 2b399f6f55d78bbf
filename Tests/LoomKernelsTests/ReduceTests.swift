import CLoomKernels
import XCTest

final class ReduceTests: XCTestCase {
  func testSum() {
    forEachISA { w in
      var rng = Rng(6)
      for n in tailSizes + [1_000_000, 3_000_001] {
        let x = rng.floats(n, -1, 3)
        let ref = x.reduce(0.0) { $0 + Double($1) }
        let scale = x.reduce(0.0) { $0 + abs(Double($1)) }
        XCTAssertLessThanOrEqual(abs(loom_sum_f32(x, Int64(n)) - ref), 1e-7 * scale + 1e-12, "sum n=\(n) w=\(w)")
      }
    }
  }

  func testSumRowsCols() {
    forEachISA { w in
      var rng = Rng(7)
      for (rows, cols) in shapes + [(2048, 384), (100000, 1), (1, 100000), (0, 3)] {
        let x = rng.floats(rows * cols)
        var out = [Float](repeating: .nan, count: rows)
        loom_sum_rows_f32(x, &out, Int64(rows), Int64(cols))
        let rref = (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + Double(x[r * cols + $1]) } }
        check(out, rref, rtol: 1e-6, atol: 1e-6 * Double(cols).squareRoot(), "sum_rows \(rows)x\(cols) w=\(w)")
        var cout = [Float](repeating: .nan, count: cols)
        loom_sum_cols_f32(x, &cout, Int64(rows), Int64(cols))
        var cref = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for c in 0..<cols { cref[c] += Double(x[r * cols + c]) } }
        check(cout, cref, rtol: 1e-6, atol: 1e-6 * Double(rows).squareRoot(), "sum_cols \(rows)x\(cols) w=\(w)")
      }
    }
  }

  func testMaxRows() {
    forEachISA { w in
      var rng = Rng(8)
      for (rows, cols) in shapes + [(1000, 100)] {
        var x = rng.floats(rows * cols).map { ($0 * 8).rounded() }  // many ties
        if rows > 2 && cols > 3 { x[cols + 2] = .nan; x[cols + 3] = .nan }  // row 1 has NaN at col 2
        var m = [Float](repeating: 0, count: rows)
        var idx = [Int64](repeating: -1, count: rows)
        loom_max_rows_f32(x, &m, &idx, Int64(rows), Int64(cols))
        for r in 0..<rows {
          let row = Array(x[r * cols..<(r + 1) * cols])
          if let ni = row.firstIndex(where: { $0.isNaN }) {
            XCTAssertTrue(m[r].isNaN, "NaN max row \(r) w=\(w)")
            XCTAssertEqual(idx[r], Int64(ni))
            continue
          }
          let mx = row.max()!
          XCTAssertEqual(m[r], mx, "max \(rows)x\(cols) row \(r) w=\(w)")
          XCTAssertEqual(idx[r], Int64(row.firstIndex(of: mx)!), "argmax \(rows)x\(cols) row \(r) w=\(w)")
        }
      }
    }
  }
}
