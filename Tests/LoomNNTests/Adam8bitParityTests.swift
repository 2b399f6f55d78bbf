import Foundation
import LoomCore
import LoomIO
import LoomOptim
import XCTest

/// 8-bit AdamW against bitsandbytes 0.50.2 (fixtures from scripts/fixtures/make_adam8bit_fixtures.py):
/// the dynamic maps (to a few ulp), three steps of the published algorithm (PyTorch reference) to float rounding,
/// bnb's CPU build to its quantizer's error, state bytes, and a state-dict round trip.
final class Adam8bitParityTests: XCTestCase {
  static let file: SafeTensorsFile = {
    let url = Bundle.module.url(forResource: "adam8bit", withExtension: "safetensors", subdirectory: "Fixtures")!
    return try! SafeTensorsFile(path: url.path)
  }()

  func load(_ key: String) -> Tensor { try! Self.file.tensor(key) }

  func maxDiff(_ a: Tensor, _ b: Tensor) -> Float { zip(a.floats, b.floats).map { Swift.abs($0 - $1) }.max()! }

  /// The fixture's two parameters and an optimizer over them (bnb's lr 1e-2, weight decay 0.01).
  func setUp8bit() -> (big: Tensor, small: Tensor, opt: Adam8bit) {
    let big = load("big.init").contiguousCopy().requiringGrad()
    let small = load("small.init").contiguousCopy().requiringGrad()
    return (big, small, Adam8bit([ParamGroup(params: [big, small], lr: 1e-2, weightDecay: 0.01)]))
  }

  func step(_ s: (big: Tensor, small: Tensor, opt: Adam8bit), _ t: Int) {
    s.big.grad = load("big.grad\(t)")
    s.small.grad = load("small.grad\(t)")
    s.opt.step()
  }

  func testDynamicMapsMatchBitsandbytes() {
    for (signed, key) in [(true, "map.signed"), (false, "map.unsigned")] {
      let ours = DynamicQuantizationMap.create(signed: signed)
      let theirs = load(key).floats
      XCTAssertEqual(ours.count, 256)
      // torch's vectorised float32 linspace inside bnb rounds a few ulp away from the double values.
      for (a, b) in zip(ours, theirs) { XCTAssertEqual(a, b, accuracy: 4 * b.ulp, "signed \(signed)") }
      XCTAssertEqual(ours.first, signed ? theirs.first : 0)
      XCTAssertEqual(ours.last, 1)
    }
  }

  func testMatchesPublishedAlgorithm() {
    let s = setUp8bit()
    XCTAssertTrue(s.opt.isQuantized(s.big))
    XCTAssertFalse(s.opt.isQuantized(s.small))
    for t in 1...3 {
      step(s, t)
      XCTAssertLessThan(maxDiff(s.big, load("ref.after\(t)")), 2e-6, "step \(t)")
    }
    let state = s.opt.stateDict()
    XCTAssertEqual(state["0.state1"]?.dtype, .uint8)
    XCTAssertEqual(state["0.absmax1"]?.shape, [20])
    // Codes may differ by one entry where x/absmax sits within float rounding of a midpoint.
    for key in ["state1", "state2"] {
      let ours = state["0.\(key)"]!.toArray(UInt8.self), ref = load("ref.\(key)").toArray(UInt8.self)
      let differing = zip(ours, ref).filter { $0 != $1 }
      XCTAssertLessThanOrEqual(differing.count, 10, key)
      XCTAssertTrue(differing.allSatisfy { Swift.abs(Int($0) - Int($1)) == 1 }, key)
    }
    for key in ["absmax1", "absmax2"] {
      let ref = load("ref.\(key)")
      // A one-entry code difference in an earlier step moves a block's absmax slightly.
      XCTAssertLessThan(maxDiff(state["0.\(key)"]!, ref) / ref.floats.max()!, 1e-4, key)
    }
  }

  func testMatchesBitsandbytesCPU() {
    let s = setUp8bit()
    step(s, 1)
    // From zero moments the first step does not depend on the quantizer.
    XCTAssertLessThan(maxDiff(s.big, load("big.after1")), 2e-6)
    step(s, 2)
    step(s, 3)
    // Float32 moments (below min_8bit_size) follow bnb's 32-bit path.
    XCTAssertLessThan(maxDiff(s.small, load("small.after3")), 2e-6)
    // bnb's CPU grid search rounds small moments coarsely: within a third of one lr-sized step.
    let diffs = zip(s.big.floats, load("big.after3").floats).map { Swift.abs($0 - $1) }
    XCTAssertLessThan(diffs.max()!, 4e-3)
    XCTAssertLessThan(diffs.reduce(0, +) / Float(diffs.count), 1e-4)
  }

  func testStateBytesAndResume() throws {
    let params = [Tensor.randn([1000, 1000], generator: Generator(seed: 1)).requiringGrad(), Tensor.randn([10]).requiringGrad()]
    let grads = params.map { Tensor.randn($0.shape, generator: Generator(seed: 2)) }
    let opt = Adam8bit([ParamGroup(params: params, lr: 1e-3, weightDecay: 0)])
    for (p, g) in zip(params, grads) { p.grad = g }
    opt.step()
    let fullBytes = params.reduce(0) { $0 + 2 * $1.count * 4 }
    XCTAssertLessThanOrEqual(Double(opt.stateByteCount) / Double(fullBytes), 0.26)
    XCTAssertEqual(opt.stateByteCount, 2 * 1_000_000 + 2 * 3907 * 4 + 2 * 256 * 4 + 2 * 10 * 4)

    // Save, load into a fresh optimizer over copies, step both: identical parameters.
    let copies = params.map { $0.detach().contiguousCopy().requiringGrad() }
    let resumed = Adam8bit([ParamGroup(params: copies, lr: 1e-3, weightDecay: 0)])
    try resumed.loadStateDict(opt.stateDict())
    for (p, g) in zip(params + copies, grads + grads) { p.grad = g }
    opt.step()
    resumed.step()
    XCTAssertEqual(params[0].floats, copies[0].floats)
    XCTAssertEqual(params[1].floats, copies[1].floats)

    var bad = opt.stateDict()
    bad["0.absmax1"] = Tensor.zeros([5])
    XCTAssertThrowsError(try resumed.loadStateDict(bad)) { XCTAssertTrue("\($0)".contains("absmax1"), "\($0)") }
  }
}
