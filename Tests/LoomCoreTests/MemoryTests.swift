import Foundation
import LoomCore
import XCTest

/// A steady training loop neither grows resident memory nor keeps calling malloc:
/// freed blocks return to the caching allocator and are reused.
final class MemoryTests: XCTestCase {
  func residentMegabytes() -> Double {
    let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
    let pages = Double(statm.split(separator: " ")[1]) ?? 0
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
  }

  func testTenThousandStepsKeepMemoryFlat() throws {
    #if !os(Linux)
      throw XCTSkip("reads /proc")
    #endif
    let gen = Generator(seed: 1)
    let x = Tensor.randn([32, 16], generator: gen)
    let y = Tensor.randint(0, 4, [32], generator: gen)
    let w1 = (Tensor.randn([32, 16], generator: gen) * 0.2).detach().requiringGrad()
    let b1 = Tensor.zeros([32]).requiringGrad()
    let w2 = (Tensor.randn([4, 32], generator: gen) * 0.2).detach().requiringGrad()
    let params = [w1, b1, w2]
    func step() -> Double {
      let h = layerNorm(linear(x, weight: w1, bias: b1), weight: nil, bias: nil).gelu()
      let loss = crossEntropy(linear(h, weight: w2), y)
      for p in params { p.zeroGrad() }
      loss.backward()
      noGrad { for p in params { p.copyIn(p - p.grad! * 0.05) } }
      return loss.item()
    }
    let first = step()
    for _ in 0..<1000 { _ = step() }
    let rssAfterWarmup = residentMegabytes()
    let mallocsAfterWarmup = BufferPool.shared.mallocCount
    var last = 0.0
    for _ in 0..<9000 { last = step() }
    let growth = residentMegabytes() - rssAfterWarmup
    XCTAssertLessThan(growth, 8, "resident memory grew by \(growth) MiB over 9000 steps")
    XCTAssertEqual(BufferPool.shared.mallocCount, mallocsAfterWarmup, "the steady loop still calls malloc")
    XCTAssertLessThan(last, first * 0.5, "the loss should fall (\(first) → \(last))")
  }

  /// Length-sorted inference: each batch is a little narrower than the one before, so
  /// every request misses its own bucket; it takes the cached block of the wider batch
  /// (at most twice its size) instead of a new one per width.
  func testShrinkingRequestsReuseLargerBlocks() {
    BufferPool.shared.emptyCache()
    let start = BufferPool.shared.mallocCount
    for width in stride(from: 72, to: 36, by: -1) {
      _ = Tensor(empty: [32, width, 384])
    }
    XCTAssertEqual(BufferPool.shared.mallocCount - start, 1, "one block should serve every narrower batch")
    XCTAssertLessThanOrEqual(BufferPool.shared.cachedByteCount, 2 * 32 * 72 * 384 * 4)
    // A block more than twice the request stays for requests its size.
    _ = Tensor(empty: [32, 30, 384])
    XCTAssertEqual(BufferPool.shared.mallocCount - start, 2, "a block over twice the request is not taken")
    BufferPool.shared.emptyCache()
  }
}
