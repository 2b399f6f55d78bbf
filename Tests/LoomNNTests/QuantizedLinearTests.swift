import LoomCore
import LoomNN
import XCTest

/// Linear4bit / Linear8bitLt: the forward equals F.linear over the dequantized weight on the fused path
/// (≤ 16 rows) and the GEMM path, gradients reach the input and bias through the frozen weight, module
/// surgery swaps them in, and the emulated device gives the CPU's numbers.
final class QuantizedLinearTests: XCTestCase {
  func maxRelative(_ a: Tensor, _ b: Tensor) -> Float {
    let x = a.toArray(Float.self), y = b.toArray(Float.self)
    let scale = y.map(abs).max() ?? 1
    return zip(x, y).map { abs($0 - $1) }.max()! / scale
  }

  func layers(_ base: Linear) throws -> [Linear & QuantizedLayer] {
    [
      try Linear4bit(quantizing: base, quantType: .nf4),
      try Linear4bit(quantizing: base, quantType: .fp4, doubleQuant: true),
      try Linear8bitLt(quantizing: base),
    ]
  }

  func testForwardMatchesDequantizedLinear() throws {
    let g = Generator(seed: 3)
    let base = Linear(128, 48, generator: g)
    for q in try layers(base) {
      let w = Quantization.dequantize(q.quantizedWeight)
      XCTAssertEqual(w.shape, [48, 128])
      XCTAssertEqual(q.inFeatures, 128)
      XCTAssertEqual(q.outFeatures, 48)
      for rows in [1, 5, 40] {
        let x = Tensor.randn([rows, 128], generator: g)
        let err = maxRelative(q(x), linear(x, weight: w, bias: base.bias))
        XCTAssertLessThan(err, 1e-5, "\(type(of: q)) rows \(rows)")
      }
      // The quantization error itself is bounded by the format (NF4 is coarsest).
      XCTAssertLessThan(maxRelative(w, base.weight), 0.2)
      XCTAssertGreaterThan(maxRelative(w, base.weight), 0)
    }
  }

  func testBackwardGivesInputAndBiasGradientsThroughFrozenWeight() throws {
    let g = Generator(seed: 4)
    let base = Linear(64, 16, generator: g)
    for q in try layers(base) {
      let w = Quantization.dequantize(q.quantizedWeight)
      for rows in [2, 24] {
        let x = Tensor.randn([rows, 64], generator: g).requiringGrad()
        let probe = Tensor.randn([rows, 16], generator: g)
        q.zeroGrad()
        (q(x) * probe).sum().backward()
        XCTAssertLessThan(maxRelative(x.grad!, probe.matmul(w)), 1e-5)
        XCTAssertLessThan(maxRelative(q.bias!.grad!, probe.sum(dim: 0)), 1e-5)
        XCTAssertNil(q.weight.grad)
      }
    }
  }

  func testSurgeryQuantizesEveryLinearAndEmulatedMatches() throws {
    let g = Generator(seed: 5)
    let model = TwoLinears(Linear(64, 32, generator: g), Linear(32, 64, generator: g))
    let x = Tensor.randn([1, 64], generator: g)
    let float = model(x)
    var quantized = 0
    try model.replaceModules { _, m in
      guard let l = m as? Linear else { return nil }
      quantized += 1
      return try Linear8bitLt(quantizing: l)
    }
    XCTAssertEqual(quantized, 2)
    let y = model(x)
    XCTAssertLessThan(maxRelative(y, float), 0.02)
    XCTAssertTrue("\(model)".contains("quant=int8"))
    model.to(device: .emulated)
    let ye = model(x.to(device: .emulated)).to(device: .cpu)
    XCTAssertEqual(ye.toArray(Float.self), y.toArray(Float.self))
  }
}

private final class TwoLinears: Module {
  @Child var first: Linear
  @Child var second: Linear
  init(_ a: Linear, _ b: Linear) {
    first = a
    second = b
    super.init()
  }
  override func forward(_ x: Tensor) -> Tensor { second(first(x)) }
}
