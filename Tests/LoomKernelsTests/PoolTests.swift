import CLoomKernels
import Foundation
import XCTest

private final class Hits: @unchecked Sendable {
  var counts: [Int32]
  init(_ n: Int) { counts = [Int32](repeating: 0, count: n) }
}

final class PoolTests: XCTestCase {
  func testParallelForCoversEachIndexOnce() {
    for (n, grain) in [(0, 1), (1, 1), (10, 100), (1000, 1), (100_000, 1000), (7, 2), (1_000_003, 4096)] {
      let hits = Hits(n)
      hits.counts.withUnsafeMutableBufferPointer { buf in
        var base = buf.baseAddress
        withUnsafeMutablePointer(to: &base) { ctx in
          loom_parallel_for(Int64(n), Int64(grain), { ctx, b, e in
            let p = ctx!.assumingMemoryBound(to: UnsafeMutablePointer<Int32>?.self).pointee!
            for i in Int(b)..<Int(e) { p[i] += 1 }
            // nested parallel_for runs inline and must still cover its range
            var inner: Int64 = 0
            withUnsafeMutablePointer(to: &inner) { ip in
              loom_parallel_for(100, 1, { c, b2, e2 in c!.assumingMemoryBound(to: Int64.self).pointee += e2 - b2 }, ip)
            }
            precondition(inner == 100)
          }, ctx)
        }
      }
      XCTAssertTrue(hits.counts.allSatisfy { $0 == 1 }, "n=\(n) grain=\(grain)")
    }
  }

  func testConcurrentCallersAndThreadCountIndependence() {
    var rng = Rng(17)
    let x = rng.floats(2_000_000)
    let ref = loom_sum_f32(x, Int64(x.count))
    let group = DispatchGroup()
    let lock = NSLock()
    final class Box: @unchecked Sendable { var v: [Double] = [] }
    let box = Box()
    for _ in 0..<4 {
      DispatchQueue.global().async(group: group) {
        var local: [Double] = []
        for _ in 0..<20 { local.append(loom_sum_f32(x, Int64(x.count))) }
        lock.lock(); box.v += local; lock.unlock()
      }
    }
    group.wait()
    XCTAssertEqual(box.v.count, 80)
    XCTAssertTrue(box.v.allSatisfy { $0 == ref })
    let saved = loom_num_threads()
    loom_set_num_threads(1)
    XCTAssertEqual(loom_num_threads(), 1)
    XCTAssertEqual(loom_sum_f32(x, Int64(x.count)), ref)
    loom_set_num_threads(3)
    XCTAssertEqual(loom_num_threads(), 3)
    XCTAssertEqual(loom_sum_f32(x, Int64(x.count)), ref)
    loom_set_num_threads(saved)
    XCTAssertEqual(loom_num_threads(), saved)
  }
}
