import CLoomKernels
import Foundation
import XCTest

final class GEMMEngineTests: XCTestCase {
  /// OpenBLAS must run kernels for the instruction sets this CPU has, even where its own
  /// model table is older than the CPU (Debian 12's 0.3.21 takes recent Xeons for a Prescott).
  func testOpenBLASUsesVectorKernelsThisCPUSupports() throws {
    #if arch(x86_64) && os(Linux)
      let core = String(cString: loom_blas_core())
      try XCTSkipIf(core.isEmpty, "not an OpenBLAS with DYNAMIC_ARCH")
      let env = ProcessInfo.processInfo.environment
      try XCTSkipIf(env["OPENBLAS_CORETYPE"] != nil, "OPENBLAS_CORETYPE chooses the kernels")
      try XCTSkipIf(env["LOOM_SIMD"] != nil, "LOOM_SIMD caps the level this test compares with")
      let preAVX: Set = [
        "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine",
        "northwood", "banias", "nano",
      ]
      if loom_simd_width_bits() >= 256 {
        XCTAssertFalse(
          preAVX.contains(core.lowercased()), "OpenBLAS runs \(core) kernels on an AVX2 CPU")
      }
      if loom_simd_width_bits() == 512 {
        XCTAssertTrue(
          ["skylakex", "cooperlake", "sapphirerapids"].contains(core.lowercased()),
          "OpenBLAS runs \(core) kernels on an AVX-512 CPU")
      }
    #endif
  }

  /// Every transpose combination through the engine `loom_sgemm_serial` picks (oneDNN for
  /// an untransposed A, OpenBLAS otherwise), with padded leading dimensions, alpha and
  /// beta, against a float64 reference.
  func testSerialAndSplitGEMMMatchReference() {
    var rng = Rng(7)
    for (m, n, k) in [(1, 1, 1), (5, 7, 3), (64, 64, 64), (37, 129, 200), (300, 17, 65)] {
      for ta in [false, true] {
        for tb in [false, true] {
          let (ar, ac) = ta ? (k, m) : (m, k)
          let (br, bc) = tb ? (n, k) : (k, n)
          let lda = ac + 3
          let ldb = bc + 5
          let ldc = n + 2
          let a = rng.floats(ar * lda)
          let b = rng.floats(br * ldb)
          let c0 = rng.floats(m * ldc)
          var c = c0
          let alpha: Float = 0.75
          let beta: Float = -0.5
          loom_sgemm_serial(
            ta ? 1 : 0, tb ? 1 : 0, Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b,
            Int64(ldb), beta, &c,
            Int64(ldc))
          var worst = 0.0
          for i in 0..<m {
            for j in 0..<n {
              var sum = 0.0
              for p in 0..<k {
                let x = Double(ta ? a[p * lda + i] : a[i * lda + p])
                let y = Double(tb ? b[j * ldb + p] : b[p * ldb + j])
                sum += x * y
              }
              let want = Double(alpha) * sum + Double(beta) * Double(c0[i * ldc + j])
              worst = max(worst, abs(Double(c[i * ldc + j]) - want) / max(1, abs(want)))
            }
            // Padding columns are left alone.
            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]) }
          }
          XCTAssertLessThan(worst, 1e-5, "m\(m) n\(n) k\(k) ta \(ta) tb \(tb)")
        }
      }
    }
  }
}
