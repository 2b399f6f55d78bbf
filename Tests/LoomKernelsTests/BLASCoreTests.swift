import CLoomKernels
import XCTest

/// OpenBLAS must run kernels for the instruction sets this CPU has, even where its own
/// model table is older than the CPU (Debian 12's 0.3.21 takes recent Xeons for a Prescott).
final class BLASCoreTests: XCTestCase {
  func testOpenBLASUsesVectorKernelsThisCPUSupports() throws {
    #if arch(x86_64) && os(Linux)
      let core = String(cString: loom_blas_core())
      try XCTSkipIf(core.isEmpty, "not an OpenBLAS with DYNAMIC_ARCH")
      let preAVX: Set = [
        "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine",
        "northwood", "banias", "nano",
      ]
      if loom_simd_width_bits() >= 256 {
        XCTAssertFalse(preAVX.contains(core.lowercased()), "OpenBLAS runs \(core) kernels on an AVX2 CPU")
      }
      if loom_simd_width_bits() == 512 {
        XCTAssertTrue(
          ["skylakex", "cooperlake", "sapphirerapids"].contains(core.lowercased()),
          "OpenBLAS runs \(core) kernels on an AVX-512 CPU")
      }
    #endif
  }
}
