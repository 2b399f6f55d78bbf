import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// A one-block GPT-2 forward and backward under `Autocast` against the same model under
/// `torch.autocast("cpu", dtype=…)` (scripts/fixtures/make_autocast_fixtures.py): each module's
/// input and output dtypes, the logits, the loss and every float32 master-weight gradient.
final class AutocastParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let expected = try! SafeTensorsFile(path: fixtures + "/gpt2-autocast-expected.safetensors")

  struct Types: Decodable, Equatable {
    let inputs: [String]
    let output: String
  }

  static let torchTypes: [String: [String: Types]] = {
    let data = FileManager.default.contents(atPath: fixtures + "/gpt2-autocast-dtypes.json")!
    return try! JSONDecoder().decode([String: [String: Types]].self, from: data)
  }()

  /// Runs forward (under autocast to `dtype`) and backward, recording every module's dtypes.
  func run(_ dtype: DType) throws -> (model: GPT2LMHeadModel, logits: Tensor, loss: Tensor, types: [String: Types]) {
    let model = try GPT2LMHeadModel.load(from: Self.fixtures + "/gpt2-autocast")
    model.train()
    let names = Dictionary(uniqueKeysWithValues: model.namedModules().map { (ObjectIdentifier($0.1), $0.0) })
    var types: [String: Types] = [:]
    let hook = ForwardHooks.registerGlobal { module, inputs, output in
      guard let name = names[ObjectIdentifier(module)] else { return }
      types[name] = Types(
        inputs: inputs.filter { $0.dtype.isFloatingPoint }.map(\.dtype.rawValue), output: output.dtype.rawValue)
    }
    defer { hook.remove() }
    let ids = try Self.expected.tensor("input_ids")
    let (loss, logits) = Autocast.run(dtype: dtype) { model.loss(ids, labels: ids) }
    loss.backward()
    return (model, logits, loss, types)
  }

  func maxAbs(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
  }

  func meanAbs(_ a: Tensor, _ b: Tensor) -> Double {
    let d = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }
    return d.reduce(0, +) / Double(max(d.count, 1))
  }

  func check(_ dtype: DType, unitRoundoff u: Double) throws {
    let tag = dtype.rawValue
    let (model, logits, loss, types) = try run(dtype)
    // Op choices: the same dtypes in and out of every module torch hooked that Loom has.
    let expectedTypes = try XCTUnwrap(Self.torchTypes[tag])
    var compared = 0
    for (name, t) in expectedTypes where types[name] != nil {
      XCTAssertEqual(types[name], t, "\(tag): dtypes of \(name)")
      compared += 1
    }
    XCTAssertGreaterThanOrEqual(compared, 7, "\(tag): modules compared (seen: \(types.keys.sorted()))")
    XCTAssertEqual(logits.dtype.rawValue, expectedTypes["logits"]?.output, "\(tag): logits dtype")
    XCTAssertEqual(loss.dtype.rawValue, expectedTypes["loss"]?.output, "\(tag): loss dtype")

    // Values. Loom rounds in different places than torch (one rounding after a fused GELU or
    // softmax where torch rounds after each elementwise op), so outputs differ by a few units
    // of roundoff u (2^-8 for bfloat16, 2^-11 for float16) relative to their magnitude: the
    // bound is 8u·max|x|. The checks that follow show the rounding happened at all: Loom's
    // logits move away from torch's float32 ones by at least half as much as torch's autocast
    // logits do, and are nearer torch's autocast logits than torch's float32 ones are.
    let torchLogits = try Self.expected.tensor("\(tag).logits")
    let torchFloat = try Self.expected.tensor("float32.logits")
    let scale = torchLogits.abs().max().item()
    let logitError = maxAbs(logits.float(), torchLogits)
    XCTAssertLessThanOrEqual(logitError, 8 * u * scale, "\(tag): logits max abs error")
    let ours = meanAbs(logits.float(), torchLogits), gap = meanAbs(torchFloat, torchLogits)
    let moved = meanAbs(logits.float(), torchFloat)
    XCTAssertGreaterThan(moved, 0.5 * gap, "\(tag): Loom autocast vs torch float32 \(moved), torch's gap \(gap)")
    XCTAssertLessThan(ours, gap, "\(tag): Loom vs torch autocast \(ours), torch float32 vs autocast \(gap)")
    let torchLoss = try Self.expected.tensor("\(tag).loss").item()
    XCTAssertEqual(loss.item(), torchLoss, accuracy: 8 * u * abs(torchLoss), "\(tag): loss")
    print("autocast \(tag): logits max err \(logitError) (bound \(8 * u * scale)), mean \(ours), from float32 \(moved), torch's gap \(gap)")

    // Master-weight gradients: float32, within 8u of each gradient's largest entry.
    var worst = 0.0
    for (name, p) in model.namedParameters() {
      let g = try XCTUnwrap(p.grad, name)
      XCTAssertEqual(g.dtype, .float32, "\(tag): grad \(name) dtype")
      let e = try Self.expected.tensor("\(tag).grad.\(name)")
      let relative = maxAbs(g, e) / max(e.abs().max().item(), 1e-12)
      worst = max(worst, relative)
      XCTAssertLessThanOrEqual(relative, 8 * u, "\(tag): grad \(name) max error relative to its largest entry")
    }
    print("autocast \(tag): worst gradient error relative to its largest entry \(worst) (bound \(8 * u))")
  }

  func testBFloat16BlockMatchesTorchAutocast() throws { try check(.bfloat16, unitRoundoff: 0x1p-8) }

  func testFloat16BlockMatchesTorchAutocast() throws { try check(.float16, unitRoundoff: 0x1p-11) }

  /// Weights cast to the half type (`model.to(torch.bfloat16)`), no autocast: every op takes and
  /// returns the half type, computing in float32 and rounding once (torch rounds after each op),
  /// so the logits agree within a few units of roundoff of the largest logit.
  func checkHalfWeights(_ dtype: DType, unitRoundoff u: Double) throws {
    let model = try GPT2LMHeadModel.load(from: Self.fixtures + "/gpt2-autocast")
    try model.to(dtype: dtype)
    model.eval()
    let logits = noGrad { model(try! Self.expected.tensor("input_ids")) }
    XCTAssertEqual(logits.dtype, dtype)
    let torchLogits = try Self.expected.tensor("weights.\(dtype.rawValue).logits")
    let error = maxAbs(logits.float(), torchLogits), bound = 8 * u * torchLogits.abs().max().item()
    XCTAssertLessThanOrEqual(error, bound, "\(dtype) weights: logits max abs error")
    print("\(dtype) weights: logits max err \(error) (bound \(bound))")
  }

  func testBFloat16WeightsMatchTorch() throws { try checkHalfWeights(.bfloat16, unitRoundoff: 0x1p-8) }

  func testFloat16WeightsMatchTorch() throws { try checkHalfWeights(.float16, unitRoundoff: 0x1p-11) }

  /// Outside autocast nothing is cast; inside `enabled: false` neither.
  func testAutocastIsScoped() throws {
    let x = Tensor.randn([3, 4]), w = Tensor.randn([5, 4])
    XCTAssertEqual(linear(x, weight: w).dtype, .float32)
    XCTAssertEqual(Autocast.run(dtype: .bfloat16) { linear(x, weight: w) }.dtype, .bfloat16)
    XCTAssertEqual(Autocast.run(dtype: .float16) { x.matmul(w.transpose(0, 1)) }.dtype, .float16)
    XCTAssertEqual(
      Autocast.run(dtype: .bfloat16) { Autocast.run(dtype: .bfloat16, enabled: false) { linear(x, weight: w) } }.dtype,
      .float32)
    XCTAssertFalse(Autocast.isEnabled)
    // float64 is not eligible (torch's rule): it stays float64.
    XCTAssertEqual(Autocast.run { x.double().matmul(w.double().transpose(0, 1)) }.dtype, .float64)
    // Promote: a half tensor plus a float32 one is float32; softmax keeps its input's type.
    let h = Autocast.run { linear(x, weight: w) }
    XCTAssertEqual((h + Tensor.randn([3, 5])).dtype, .float32)
    XCTAssertEqual(Autocast.run { h.softmax(dim: -1) }.dtype, .bfloat16)
  }
}
