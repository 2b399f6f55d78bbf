import LoomCore
import LoomNN
import XCTest

/// A Linear that adds a scaled low-rank update; subclassing keeps `@Child var x: Linear`
/// declarations accepting it.
final class LowRankLinear: Linear {
  @Parameter var loraA: Tensor
  @Parameter var loraB: Tensor

  init(wrapping base: Linear, rank: Int) {
    loraA = Init.normal([base.inFeatures, rank], std: 0.1, generator: Generator(seed: 3))
    loraB = Init.zeros([rank, base.outFeatures])
    super.init(weight: base.weight, bias: base.bias)
  }

  override func forward(_ x: Tensor) -> Tensor { super.forward(x) + x.matmul(loraA).matmul(loraB) }
}

final class Tower: Module {
  @Child var embed = Linear(4, 4)
  @Child var blocks = ModuleList(Linear(4, 4), ReLU(), Linear(4, 4))
  @Child var layers: [Linear] = [Linear(4, 4), Linear(4, 4)]
  @Child var anything: Module = ReLU()
  let fixed = Linear(4, 4)

  override func forward(_ x: Tensor) -> Tensor {
    var h = anything(embed(x))
    for b in blocks { h = b(h) }
    for l in layers { h = l(h) }
    return fixed(h)
  }
}

final class ModuleSurgeryTests: XCTestCase {
  func testReplaceByPathKeepsNamesAndRunsTheNewModule() throws {
    let t = Tower()
    let x = Tensor.rand([2, 4], generator: Generator(seed: 1))
    let before = t(x).toArray(Float.self)
    let original = t.layers[1]
    let adapter = LowRankLinear(wrapping: original, rank: 2)
    try t.replaceModule(at: "layers.1", with: adapter)
    XCTAssertTrue(t.module(at: "layers.1") === adapter)
    XCTAssertTrue(t.layers[1] === adapter)
    // B starts at zero: same output; the adapter's tensors join the names.
    XCTAssertEqual(t(x).toArray(Float.self), before)
    XCTAssertEqual(
      t.namedParameters().map(\.0).filter { $0.hasPrefix("layers.1") },
      ["layers.1.weight", "layers.1.bias", "layers.1.loraA", "layers.1.loraB"])
    try t.replaceModule(at: "blocks.1", with: Tanh())
    XCTAssertTrue(t.blocks[1] is Tanh)
    try t.replaceModule(at: "anything", with: Sigmoid())
    XCTAssertTrue(t.anything is Sigmoid)
    XCTAssertNotEqual(t(x).toArray(Float.self), before)
  }

  func testReplaceErrorsNameThePathAndTheDeclaredType() {
    let t = Tower()
    XCTAssertThrowsError(try t.replaceModule(at: "layers.7", with: Linear(4, 4))) { error in
      XCTAssertEqual((error as? ModuleSurgeryError)?.path, "layers.7")
      XCTAssertTrue("\(error)".contains("no submodule at this path"), "\(error)")
    }
    XCTAssertThrowsError(try t.replaceModule(at: "embed", with: ReLU())) { error in
      XCTAssertTrue("\(error)".contains("declared as Linear"), "\(error)")
      XCTAssertTrue("\(error)".contains("ReLU"), "\(error)")
    }
    XCTAssertThrowsError(try t.replaceModule(at: "layers.0", with: Conv1d(4, 4, kernelSize: 1))) {
      error in
      XCTAssertTrue("\(error)".contains("Array<Linear>"), "\(error)")
    }
    XCTAssertThrowsError(try t.replaceModule(at: "fixed", with: Linear(4, 4))) { error in
      XCTAssertTrue("\(error)".contains("plain property"), "\(error)")
    }
    XCTAssertFalse(t.embed is LowRankLinear)
  }

  func testReplaceModulesWherePredicateWrapsEveryLinearOnce() throws {
    let t = Tower()
    let paths = try t.replaceModules { path, module in
      guard let linear = module as? Linear, path.hasPrefix("layers") else { return nil }
      return LowRankLinear(wrapping: linear, rank: 1)
    }
    XCTAssertEqual(paths, ["layers.0", "layers.1"])
    XCTAssertTrue(t.layers.allSatisfy { $0 is LowRankLinear })
    t.freeze()
    for l in t.layers.compactMap({ $0 as? LowRankLinear }) {
      l.loraA.requiresGrad = true
      l.loraB.requiresGrad = true
    }
    XCTAssertEqual(t.parameterCount(trainableOnly: true), 2 * (4 + 4))
  }

  func testCastToBFloat16AndBack() throws {
    let net = Sequential(Linear(4, 8), ReLU(), LayerNorm(8), Linear(8, 3), BatchNorm1d(3))
    let x = Tensor.rand([5, 4], generator: Generator(seed: 2))
    net.eval()
    let reference = net(x).toArray(Float.self)
    let originals = net.namedParameters().map { ($0.0, $0.1, $0.1.toArray(Float.self)) }
    try net.to(dtype: .bfloat16)
    for (name, p, values) in originals {
      XCTAssertEqual(p.dtype, .bfloat16, name)
      let rounded = Tensor(values, shape: p.shape).to(.bfloat16).toArray(Float.self)
      XCTAssertEqual(p.toArray(Float.self), rounded, name)
    }
    XCTAssertEqual(net.namedBuffers().first { $0.0 == "4.running_mean" }?.1.dtype, .bfloat16)
    XCTAssertEqual(net.namedBuffers().first { $0.0 == "4.num_batches_tracked" }?.1.dtype, .int64)
    try net.to(dtype: .float32)
    for (name, p, values) in originals {
      XCTAssertEqual(p.dtype, .float32, name)
      XCTAssertEqual(
        p.toArray(Float.self), Tensor(values, shape: p.shape).to(.bfloat16).toArray(Float.self),
        name)
    }
    // bfloat16-rounded weights: close to, not equal to, the original output.
    let y = net(x).toArray(Float.self)
    for (a, b) in zip(y, reference) { XCTAssertEqual(a, b, accuracy: 0.1) }
    XCTAssertEqual(net.namedBuffers().first { $0.0 == "4.running_mean" }?.1.dtype, .float32)
    XCTAssertThrowsError(try net.to(dtype: .int64))
  }
}
