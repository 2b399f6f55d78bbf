import Foundation
import LoomAdapt
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// Prompt tuning on encoder–decoder LMs against PEFT 0.21.2's PeftModelForSeq2SeqLM (fixtures from
/// scripts/fixtures/make_prompt_tuning_seq2seq_fixtures.py, Fixtures/prompt-seq2seq): BART, T5 and
/// Switch Transformers — logits, loss (Switch's router losses included), the prompt's gradient (its
/// second n rows, which PEFT allocates but never reads, get zeros), three AdamW steps, and greedy,
/// beam and batched generation ids.
final class PromptTuningSeq2SeqParityTests: XCTestCase {
  static let root = PromptTuningParityTests.fixtures + "/prompt-seq2seq"

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func prompted(_ name: String, trainable: Bool = true) throws -> (PromptTuningSeq2SeqLM, GenerationConfig) {
    let (base, defaults) = try Generation.loadSeq2SeqLanguageModel(from: "\(Self.root)/\(name)/base")
    let embeddable = try XCTUnwrap(base as? any Module & InputEmbeddingsSeq2SeqLM)
    let m = try PromptTuningSeq2SeqLM.fromPretrained(
      base: embeddable, adapterDirectory: "\(Self.root)/\(name)/adapter", isTrainable: trainable)
    return (m, defaults)
  }

  func check(_ name: String) throws {
    let e = try SafeTensorsFile(path: "\(Self.root)/\(name)/expected.safetensors")
    let (m, _) = try prompted(name)
    XCTAssertEqual(m.peftConfig.numTransformerSubmodules, 2)
    XCTAssertEqual(m.prompt.embedding.weight.shape, [6, 16])
    m.train()
    let ids = try e.tensor("input_ids")
    let mask = try e.tensor("attention_mask")
    let labels = try e.tensor("labels")
    func forward() throws -> Seq2SeqLMOutput {
      try m.seq2seqForward(
        inputIds: ids, attentionMask: mask, decoderInputIds: nil, decoderAttentionMask: nil, labels: labels)
    }
    let out = try forward()
    assertClose(out.logits, try e.tensor("logits"), 1e-5, "\(name) logits")
    assertClose(out.loss.reshape([1]), try e.tensor("loss"), 1e-5, "\(name) loss")
    out.loss.backward()
    let grad = try XCTUnwrap(m.prompt.embedding.weight.grad)
    assertClose(grad, try e.tensor("grad.prompt"), 1e-5, "\(name) prompt gradient")
    XCTAssertEqual(grad.slice(dim: 0, start: 3, end: 6).abs().sum().item(), 0, "\(name): rows PEFT never reads")
    for (n, p) in m.namedParameters() where p !== m.prompt.embedding.weight {
      XCTAssertNil(p.grad, "\(name): frozen \(n) gets no gradient")
    }
    m.prompt.embedding.weight.grad = nil
    let opt = AdamW(m.trainableParameters, lr: 3e-2, weightDecay: 0.01)
    var losses: [Double] = []
    for _ in 0..<3 {
      let loss = try forward().loss
      loss.backward()
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    for (a, b) in zip(losses, try e.tensor("adamw.losses").toArray(Double.self)) {
      XCTAssertEqual(a, b, accuracy: 1e-5, "\(name) AdamW losses")
    }
    assertClose(m.prompt.embedding.weight, try e.tensor("adamw.prompt"), 1e-5, "\(name) prompt after AdamW")
  }

  func checkGeneration(_ name: String) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: "\(Self.root)/\(name)/generate.json"))
    let g = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    let ids = try XCTUnwrap(g["input_ids"] as? [[Int]])
    let mask = try XCTUnwrap(g["attention_mask"] as? [[Int]])
    let (m, defaults) = try prompted(name, trainable: false)
    m.eval()
    var greedy = defaults
    greedy.maxNewTokens = 6
    XCTAssertEqual(try Generation.generate(m, inputs: [ids[0]], config: greedy), [try XCTUnwrap(g["greedy"] as? [Int])])
    var beam = greedy
    beam.numBeams = 3
    beam.numReturnSequences = 2
    beam.earlyStopping = .enabled
    XCTAssertEqual(try Generation.generate(m, inputs: [ids[0]], config: beam), try XCTUnwrap(g["beam"] as? [[Int]]))
    let unpadded = zip(ids, mask).map { row, keep in zip(row, keep).filter { $0.1 == 1 }.map(\.0) }
    XCTAssertEqual(
      try Generation.generate(m, inputs: unpadded, config: greedy), try XCTUnwrap(g["batched_greedy"] as? [[Int]]))
  }

  func testBartMatchesPEFT() throws { try check("bart") }
  func testT5MatchesPEFT() throws { try check("t5") }
  func testSwitchTransformersMatchesPEFT() throws { try check("switch") }

  func testBartGenerationMatchesPEFT() throws { try checkGeneration("bart") }
  func testT5GenerationMatchesPEFT() throws { try checkGeneration("t5") }
  func testSwitchTransformersGenerationMatchesPEFT() throws { try checkGeneration("switch") }

  /// Loom's adapter files are PEFT's: saved, they read back to the same prompt and config.
  func testSavedAdapterRoundTripsAndMismatchesAreClear() throws {
    let (m, _) = try prompted("t5")
    let dir = NSTemporaryDirectory() + "loom-pt-s2s-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try m.saveAdapter(to: dir)
    let config = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/adapter_config.json")))
        as? [String: Any])
    XCTAssertEqual(config["task_type"] as? String, "SEQ_2_SEQ_LM")
    XCTAssertEqual(config["num_transformer_submodules"] as? Int, 2)
    XCTAssertEqual(config["peft_type"] as? String, "PROMPT_TUNING")
    let (base, _) = try Generation.loadSeq2SeqLanguageModel(from: "\(Self.root)/t5/base")
    let back = try PromptTuningSeq2SeqLM.fromPretrained(
      base: try XCTUnwrap(base as? any Module & InputEmbeddingsSeq2SeqLM), adapterDirectory: dir)
    assertClose(back.prompt.embedding.weight, m.prompt.embedding.weight, 0, "round trip")
    // A causal-LM adapter on an encoder–decoder base names the task.
    let (bart, _) = try Generation.loadSeq2SeqLanguageModel(from: "\(Self.root)/bart/base")
    XCTAssertThrowsError(
      try PromptTuningSeq2SeqLM.fromPretrained(
        base: try XCTUnwrap(bart as? any Module & InputEmbeddingsSeq2SeqLM),
        adapterDirectory: PromptTuningParityTests.fixtures + "/prompt-random")
    ) { error in
      XCTAssertTrue("\(error)".contains("task_type is CAUSAL_LM"), "\(error)")
    }
  }
}
