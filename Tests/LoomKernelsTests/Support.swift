import CLoomKernels
import Foundation
import XCTest

/// Deterministic inputs (SplitMix64).
struct Rng {
  var s: UInt64
  init(_ seed: UInt64) { s = seed }
  mutating func next() -> UInt64 {
    s &+= 0x9E37_79B9_7F4A_7C15
    var z = s
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
    lo + (hi - lo) * Float(Double(next() >> 11) / Double(1 << 53))
  }
  mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
    (0..<n).map { _ in uniform(lo, hi) }
  }
  mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Vector tails (8 and 16 lanes, unrolled loops) and one size big enough to be threaded.
let tailSizes = [0, 1, 7, 8, 15, 16, 17, 31, 33, 1000, 100003]
/// (rows, cols) shapes; the last ones exceed the threading thresholds.
let shapes: [(Int, Int)] = [(1, 1), (3, 7), (2, 17), (5, 16), (17, 33), (4, 1000), (64, 1023), (300, 257), (3, 50257)]

/// |got - ref| <= atol + rtol*|ref| for every element; reports the worst one.
func check(_ got: [Float], _ ref: [Double], rtol: Double, atol: Double = 0, _ msg: @autoclosure () -> String,
           file: StaticString = #filePath, line: UInt = #line) {
  XCTAssertEqual(got.count, ref.count, msg(), file: file, line: line)
  var worst = 0.0, wi = -1
  for i in 0..<min(got.count, ref.count) {
    let g = Double(got[i]), r = ref[i]
    if g.isNaN && r.isNaN { continue }
    if g == r { continue }
    let excess = abs(g - r) / (atol + rtol * abs(r))
    if !(excess <= 1) && !(excess <= worst) { worst = excess; wi = i }
    if excess.isNaN { worst = .infinity; wi = i }
  }
  if wi >= 0 {
    XCTFail("\(msg()): index \(wi) got \(got[wi]) want \(ref[wi]) (\(worst)x tolerance)", file: file, line: line)
  }
}

/// Runs `body` once per SIMD level this CPU supports (and scalar), restoring the best.
func forEachISA(_ body: (Int) -> Void) {
  var levels: [Int] = []
  for w in [512, 256, 0] {
    let got = Int(loom_set_simd_width_bits(Int32(w)))
    if !levels.contains(got) { levels.append(got) }
  }
  for w in levels {
    _ = loom_set_simd_width_bits(Int32(w))
    body(w)
  }
  _ = loom_set_simd_width_bits(512)
}

func cpuFlags() -> Set<String> {
  guard let s = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let line = s.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
  return Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
}
