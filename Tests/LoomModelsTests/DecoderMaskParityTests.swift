import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// HF's `decoder_attention_mask` (combined with the causal mask) on BART, T5 and Switch against
/// transformers (scripts/fixtures/make_decoder_mask_fixtures.py), and on the Transformer against
/// its own unmasked outputs.
final class DecoderMaskParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let expected = try! SafeTensorsFile(path: fixtures + "/decoder-mask-expected.safetensors")

  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst =
      zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func load(_ name: String) throws -> Module {
    let m: Module = try AutoModelForSeq2SeqLM.from(directory: Self.fixtures + "/" + name)
    m.train()  // dropout is 0: train mode only matters for gradients
    return m
  }

  /// Hidden states, logits, loss and the chosen gradients of `prefix` in the fixture.
  func check(_ prefix: String, _ m: Module, hidden: Tensor, logits: Tensor, loss: Tensor) throws {
    assertClose(hidden, try tensor("\(prefix).decoder_hidden"), 1e-4, "\(prefix) decoder hidden")
    assertClose(logits, try tensor("\(prefix).logits"), 1e-4, "\(prefix) logits")
    assertClose(loss.reshape([1]), try tensor("\(prefix).loss"), 1e-4, "\(prefix) loss")
    loss.backward()
    let params = Dictionary(uniqueKeysWithValues: m.namedParameters())
    let names = Self.expected.names.filter { $0.hasPrefix("\(prefix).grad.") }
    XCTAssertFalse(names.isEmpty)
    for name in names {
      let p = try XCTUnwrap(params[String(name.dropFirst("\(prefix).grad.".count))], name)
      assertClose(p.grad!, try tensor(name), 1e-4, name)
    }
  }

  func testBartMatchesTransformers() throws {
    let m = try XCTUnwrap(try load("bart-tiny") as? BartForConditionalGeneration)
    let out = try m.forward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      decoderInputIds: tensor("decoder_input_ids"),
      decoderAttentionMask: tensor("decoder_attention_mask"),
      labels: tensor("labels"))
    try check("bart", m, hidden: out.lastHiddenState, logits: out.logits!, loss: out.loss!)
  }

  func testT5MatchesTransformers() throws {
    let m = try XCTUnwrap(try load("t5-tiny") as? T5ForConditionalGeneration)
    let out = try m.forward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      decoderInputIds: tensor("decoder_input_ids"),
      decoderAttentionMask: tensor("decoder_attention_mask"),
      labels: tensor("labels"))
    try check("t5", m, hidden: out.lastHiddenState, logits: out.logits!, loss: out.loss!)
  }

  /// Through the training entry point, as `loom train seq2seq` passes a batch's mask.
  func testSwitchMatchesTransformersThroughSeq2SeqForward() throws {
    let m = try XCTUnwrap(try load("switch-tiny") as? SwitchTransformersForConditionalGeneration)
    let out = try m.forward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      decoderInputIds: tensor("decoder_input_ids"),
      decoderAttentionMask: tensor("decoder_attention_mask"),
      labels: tensor("labels"))
    try check("switch", m, hidden: out.lastHiddenState, logits: out.logits!, loss: out.loss!)
    let step = try m.seq2seqForward(
      inputIds: tensor("input_ids"), attentionMask: tensor("attention_mask"),
      decoderInputIds: tensor("decoder_input_ids"),
      decoderAttentionMask: tensor("decoder_attention_mask"),
      labels: tensor("labels"))
    assertClose(step.logits, try tensor("switch.logits"), 1e-4, "switch seq2seqForward logits")
  }

  /// The Transformer (no HF class): a mask of ones changes nothing; a hole at position 2 of row 1
  /// leaves the positions before it and row 0 as they were and changes it and the positions after.
  func testTransformerMasksPaddedDecoderKeys() throws {
    let m = try XCTUnwrap(try load("transformer-tiny") as? TransformerSeq2SeqLM)
    m.eval()
    let ids = Tensor([Int64]([4, 5, 6, 7, 8, 9, 10, 11]), shape: [2, 4])
    let dec = Tensor([Int64]([1, 5, 6, 7, 8, 1, 9, 10, 11, 12]), shape: [2, 5])
    func logits(_ mask: [Int64]?) throws -> [Float] {
      try m.forward(
        inputIds: ids, decoderInputIds: dec,
        decoderAttentionMask: mask.map { Tensor($0, shape: [2, 5]) }
      ).logits.toArray(Float.self)
    }
    let plain = try logits(nil)
    let v = m.config.vocabSize
    func diff(_ x: [Float], _ y: [Float], _ r: Int, _ t: Int) -> Float {
      let span = ((r * 5 + t) * v)..<((r * 5 + t + 1) * v)
      return zip(x[span], y[span]).map { abs($0 - $1) }.max()!
    }
    let ones = try logits([Int64](repeating: 1, count: 10))
    for r in 0..<2 {
      for t in 0..<5 { XCTAssertLessThan(diff(ones, plain, r, t), 1e-5, "ones: \(r), \(t)") }
    }
    let holed = try logits([1, 1, 1, 1, 1, 1, 1, 0, 1, 1])
    for t in 0..<5 { XCTAssertLessThan(diff(holed, plain, 0, t), 1e-5, "row 0 position \(t)") }
    for t in 0..<2 { XCTAssertLessThan(diff(holed, plain, 1, t), 1e-5, "row 1 position \(t)") }
    for t in 2..<5 {
      XCTAssertGreaterThan(
        diff(holed, plain, 1, t), 1e-4, "row 1 position \(t) must not see the masked position 2")
    }
  }

  func testMisshapenDecoderMaskIsAClearError() throws {
    let bart = try XCTUnwrap(try load("bart-tiny") as? BartForConditionalGeneration)
    XCTAssertThrowsError(
      try bart.forward(
        inputIds: tensor("input_ids"), decoderInputIds: tensor("decoder_input_ids"),
        decoderAttentionMask: tensor("attention_mask"))
    ) { XCTAssertTrue("\($0)".contains("decoder_attention_mask has shape [2, 6]"), "\($0)") }
    let t5 = try XCTUnwrap(try load("t5-tiny") as? T5ForConditionalGeneration)
    XCTAssertThrowsError(
      try t5.forward(
        inputIds: tensor("input_ids"), decoderInputIds: tensor("decoder_input_ids"),
        decoderAttentionMask: tensor("attention_mask"))
    ) { XCTAssertTrue("\($0)".contains("decoder_attention_mask"), "\($0)") }
  }
}
