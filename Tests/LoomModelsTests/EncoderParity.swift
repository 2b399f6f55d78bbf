import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// Shared checks of the encoder parity tests against fixtures written by
/// scripts/fixtures/make_encoder_fixtures.py.
struct EncoderFixture {
  static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/encoders"
  let family: String
  let expected: SafeTensorsFile

  init(_ family: String) throws {
    self.family = family
    expected = try SafeTensorsFile(path: Self.root + "/\(family)-expected.safetensors")
  }

  var directory: String { Self.root + "/\(family)-tiny" }
  func t(_ name: String) throws -> Tensor { try expected.tensor(name) }

  /// input_ids, attention_mask (and token_type_ids when the family has them).
  func inputs() throws -> EncoderInputs {
    let names = expected.names
    return EncoderInputs(
      inputIds: try t("input_ids"), attentionMask: try t("attention_mask"),
      tokenTypeIds: names.contains("token_type_ids") ? try t("token_type_ids") : nil)
  }

  static func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    guard a.shape == b.shape else { return }
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  /// Copies the head weights transformers initialised (`<head>.param.*`) into `model`.
  func adoptHeadWeights(_ head: String, into model: Module) throws {
    let params = Dictionary(uniqueKeysWithValues: model.namedParameters())
    let prefix = head + ".param."
    for name in expected.names where name.hasPrefix(prefix) {
      let key = String(name.dropFirst(prefix.count))
      guard let p = params[key] else { XCTFail("\(head) has no parameter \(key)"); continue }
      try noGrad { p.copyIn(try t(name)) }
    }
  }

  /// Runs `head` with `configure`d inputs, compares the named outputs, the loss, the last
  /// hidden state and every parameter's gradient with transformers'.
  func checkHead(
    _ head: String, _ model: Module, outputs: [(String, (EncoderOutput) -> Tensor?)],
    configure: (inout EncoderInputs) throws -> Void, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    guard let m = model as? any EncoderModel else { return XCTFail("\(type(of: model)) is not an EncoderModel") }
    try adoptHeadWeights(head.components(separatedBy: ".")[0], into: model)
    model.train()
    var inp = try inputs()
    inp.outputHiddenStates = true
    try configure(&inp)
    let out = try m.forward(inp)
    for (key, get) in outputs {
      guard let value = get(out) else { XCTFail("\(head): no \(key)", file: file, line: line); continue }
      Self.assertClose(value, try t("\(head).\(key)"), 1e-4, "\(head).\(key)", file: file, line: line)
    }
    Self.assertClose(
      out.hiddenStates!.last!, try t("\(head).hidden_states.last"), 1e-4, "\(head) hidden", file: file, line: line)
    guard let loss = out.loss else { return XCTFail("\(head): no loss", file: file, line: line) }
    Self.assertClose(loss.reshape([1]), try t("\(head).loss"), 1e-4, "\(head).loss", file: file, line: line)
    loss.backward()
    let params = model.namedParameters()
    XCTAssertEqual(
      params.count, expected.names.filter { $0.hasPrefix("\(head).grad.") }.count, "\(head) parameter count",
      file: file, line: line)
    for (name, p) in params {
      guard let g = p.grad else { XCTFail("\(head): no gradient for \(name)", file: file, line: line); continue }
      Self.assertClose(g, try t("\(head).grad.\(name)"), 1e-4, "\(head) grad \(name)", file: file, line: line)
    }
  }

  /// Five AdamW steps of masked-LM training (clipping at 1, decay 0.01 on matrices).
  func checkAdamW(_ model: Module, file: StaticString = #filePath, line: UInt = #line) throws {
    guard let m = model as? any EncoderModel else { return XCTFail("not an EncoderModel") }
    model.train()
    let named = model.namedParameters()
    let decay = named.filter { $0.1.rank >= 2 }.map(\.1), noDecay = named.filter { $0.1.rank < 2 }.map(\.1)
    let opt = AdamW([ParamGroup(params: decay, lr: 1e-3, weightDecay: 0.01), ParamGroup(params: noDecay, lr: 1e-3, weightDecay: 0)])
    var inp = try inputs()
    inp.labels = try t("labels.mlm")
    inp.onlyLabelledLogits = true  // identical loss, fewer logits
    var losses: [Double] = []
    for _ in 0..<5 {
      let loss = try m.forward(inp).loss!
      loss.backward()
      clipGradNorm(model.parameters(), maxNorm: 1)
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    Self.assertClose(Tensor(losses.map { Float($0) }), try t("adamw.losses"), 1e-4, "adamw losses", file: file, line: line)
    for (name, p) in named {
      // A key bias shifts every score of a query equally, so softmax cancels it: its gradient
      // is zero up to rounding (the gradient check above holds it to 1e-4) and Adam, which
      // divides by √v, turns that noise into steps of up to lr in either direction.
      let keyBias = name.hasSuffix("key.bias") || name.hasSuffix("k_lin.bias")
      Self.assertClose(p, try t("adamw.\(name)"), keyBias ? 5 * 1e-3 : 1e-4, "adamw \(name)", file: file, line: line)
    }
  }

  /// Loom's save has exactly the names and shapes of transformers' save_pretrained.
  func checkSaveMatchesHF(_ model: Module, file: StaticString = #filePath, line: UInt = #line) throws {
    let tmp = NSTemporaryDirectory() + "loom-\(family)-save-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    try model.savePretrained(to: tmp)
    let ours = try SafeTensorsFile(path: tmp + "/model.safetensors")
    let theirs = try SafeTensorsFile(path: directory + "/model.safetensors")
    XCTAssertEqual(ours.names.sorted(), theirs.names.sorted(), "saved names", file: file, line: line)
    for e in theirs.entries { XCTAssertEqual(try ours.entry(e.name).shape, e.shape, e.name, file: file, line: line) }
  }
}
