import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomOptim
import XCTest

/// The seeds' Fashion-MNIST autoencoder: 784→128→64→36→18→9 and back, ReLU, Sigmoid.
final class TinyAutoencoder: Module {
  @Child var encoder: Sequential
  @Child var decoder: Sequential
  override init() {
    let dims = [784, 128, 64, 36, 18, 9]
    var enc: [Module] = []
    for i in 0..<(dims.count - 1) {
      enc.append(Linear(dims[i], dims[i + 1]))
      if i < dims.count - 2 { enc.append(ReLU()) }
    }
    var dec: [Module] = []
    let back = Array(dims.reversed())
    for i in 0..<(back.count - 1) {
      dec.append(Linear(back[i], back[i + 1]))
      dec.append(i < back.count - 2 ? ReLU() : Sigmoid())
    }
    encoder = Sequential(enc)
    decoder = Sequential(dec)
    super.init()
  }
  override func forward(_ x: Tensor) -> Tensor { decoder(encoder(x)) }
}

final class Block: Module {
  @Child var cAttn = Linear(4, 12)
  @Child var lnF = LayerNorm(4)
  @Child var h: [Linear] = [Linear(4, 4), Linear(4, 4, bias: false)]
  @Buffer var stats = Tensor.zeros([2])
  override var keyOverrides: [String: String] { ["cAttn": "c_attn", "lnF": "ln_f"] }
}

final class ModuleTests: XCTestCase {
  func testAutoencoderHasTheSeedsParameterCount() {
    let ae = TinyAutoencoder()
    XCTAssertEqual(ae.parameterCount(), 224_601)
    XCTAssertEqual(ae(Tensor.rand([3, 784])).shape, [3, 784])
    XCTAssertEqual(ae.namedParameters().first?.0, "encoder.0.weight")
    XCTAssertEqual(ae.namedParameters().last?.0, "decoder.8.bias")
  }

  func testNamesOverridesBuffersAndModes() {
    let m = Block()
    XCTAssertEqual(
      m.namedParameters().map(\.0),
      ["c_attn.weight", "c_attn.bias", "ln_f.weight", "ln_f.bias", "h.0.weight", "h.0.bias", "h.1.weight"])
    XCTAssertEqual(m.namedBuffers().map(\.0), ["stats"])
    XCTAssertEqual(Set(m.stateDict().keys).count, 8)
    m.eval()
    XCTAssertFalse(m.h[1].training)
    m.train()
    XCTAssertTrue(m.lnF.training)
    m.freeze()
    XCTAssertEqual(m.parameterCount(trainableOnly: true), 0)
    m.unfreeze()
    XCTAssertEqual(m.parameterCount(trainableOnly: true), m.parameterCount())
  }

  func testStateDictRoundTripThroughSafetensorsKeepsOptimizerReferences() throws {
    let a = Block(), b = Block()
    let path = NSTemporaryDirectory() + "loom-module-\(UUID().uuidString).safetensors"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try SafeTensors.save(a.stateDict(), to: path)
    let weightBefore = b.cAttn.weight
    try b.loadStateDict(SafeTensors.load(path))
    XCTAssertTrue(weightBefore === b.cAttn.weight, "parameters are updated in place")
    for (k, t) in a.stateDict() { XCTAssertEqual(t.floats, b.stateDict()[k]!.floats, k) }
  }

  func testLoadStateDictReportsMissingUnexpectedAndMismatchedKeys() {
    let m = Block()
    var dict = m.stateDict()
    dict["c_attn.weight"] = nil
    dict["extra.weight"] = Tensor.zeros([1])
    XCTAssertThrowsError(try m.loadStateDict(dict)) { error in
      let e = error as! LoadStateDictError
      XCTAssertEqual(e.missing, ["c_attn.weight"])
      XCTAssertEqual(e.unexpected, ["extra.weight"])
      XCTAssertTrue("\(e)".contains("missing keys (1): c_attn.weight"))
    }
    let report = try! m.loadStateDict(dict, strict: false)
    XCTAssertEqual(report.missing, ["c_attn.weight"])
    dict["ln_f.weight"] = Tensor.zeros([5])
    XCTAssertThrowsError(try m.loadStateDict(dict, strict: false)) { error in
      XCTAssertTrue("\(error)".contains("ln_f.weight: expected [4], got [5]"))
    }
  }

  func testLinearInitMatchesPyTorchBounds() {
    let l = Linear(100, 50, generator: Generator(seed: 3))
    let bound = 1 / 10.0
    XCTAssertLessThanOrEqual(l.weight.abs().max().item(), bound)
    XCTAssertGreaterThan(l.weight.abs().max().item(), bound * 0.95)
    XCTAssertEqual(l.weight.mean().item(), 0, accuracy: 0.01)
    // Uniform(-b, b) has variance b²/3.
    XCTAssertEqual(l.weight.variance().item(), bound * bound / 3, accuracy: 0.0005)
  }

  func testTrainingAutoencoderReducesLossWithAdam() {
    manualSeed(7)
    let ae = TinyAutoencoder()
    // Low-rank images in [0, 1]: compressible, unlike noise.
    let codes = Tensor.rand([64, 3], generator: Generator(seed: 8))
    let patterns = Tensor.rand([3, 784], generator: Generator(seed: 9))
    let x = (codes.matmul(patterns) / 3).detach()
    let opt = Adam(ae.parameters(), lr: 1e-3, weightDecay: 1e-8)
    var first = 0.0, last = 0.0
    for step in 0..<150 {
      opt.zeroGrad()
      let loss = Loss.mse(ae(x), x)
      loss.backward()
      opt.step()
      if step == 0 { first = loss.item() }
      last = loss.item()
    }
    XCTAssertLessThan(last, first * 0.5, "loss \(first) → \(last)")
  }

  func testClipGradNorm() {
    let p = Tensor([Float(0), 0]).requiringGrad()
    (p * Tensor([Float(3), 4])).sum().backward()
    let norm = clipGradNorm([p], maxNorm: 1)
    XCTAssertEqual(norm, 5, accuracy: 1e-6)
    XCTAssertEqual(p.grad!.floats[0], 0.6, accuracy: 1e-5)
    XCTAssertEqual(p.grad!.floats[1], 0.8, accuracy: 1e-5)
  }

  func testOptimizerStateRoundTrip() throws {
    let w = Tensor([Float(1), 2]).requiringGrad()
    let opt = AdamW([w], lr: 0.1)
    (w * w).sum().backward()
    opt.step()
    let state = opt.stateDict()
    let w2 = Tensor(w.floats).requiringGrad()
    let opt2 = AdamW([w2], lr: 0.1)
    try opt2.loadStateDict(state)
    for (o, p) in [(opt, w), (opt2, w2)] {
      p.zeroGrad()
      (p * p).sum().backward()
      o.step()
    }
    XCTAssertEqual(w.floats, w2.floats)
  }
}
