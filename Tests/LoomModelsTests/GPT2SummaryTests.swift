import LoomCore
import LoomModels
import LoomNN
import XCTest

/// GPT-2's modules take masks and caches; they report themselves with `recordForward`,
/// so the summary and hooks see them like single-input layers.
final class GPT2SummaryTests: XCTestCase {
  func testSummaryListsEveryGPT2ModuleOnceWithTiedHeadCountedOnce() throws {
    let config = GPT2Config(vocabSize: 100, nPositions: 16, nEmbd: 8, nLayer: 2, nHead: 2)
    let model = try GPT2LMHeadModel(config, generator: Generator(seed: 1))
    let ids = Tensor((0..<10).map { Int64($0 * 7 % 100) }, shape: [2, 5])
    let s = ModelSummary(model: model, input: ids) { model($0) }

    let block = [
      "LayerNorm", "Conv1D", "Conv1D", "GPT2Attention", "LayerNorm", "Conv1D", "Conv1D", "GPT2MLP", "GPT2Block",
    ]
    let types =
      ["Embedding", "Embedding"] + Array((0..<config.nLayer).map { _ in block }.joined()) + ["LayerNorm", "GPT2Model"]
    XCTAssertEqual(s.rows.map(\.type), types)
    XCTAssertEqual(s.rows.map(\.name).last, "GPT2Model-\(types.count)")
    XCTAssertEqual(s.rows[5].path, "transformer.h.0.attn")
    XCTAssertEqual(s.rows[5].outputShape, [-1, 5, config.nEmbd])
    XCTAssertEqual(s.rows[3].path, "transformer.h.0.attn.c_attn")
    XCTAssertEqual(s.rows[3].outputShape, [-1, 5, 3 * config.nEmbd])
    XCTAssertEqual(s.rows[3].parameters, config.nEmbd * 3 * config.nEmbd + 3 * config.nEmbd)
    // The head reuses wte's weight: counted once, so the rows (which never see the
    // functional head) add up to the total.
    XCTAssertEqual(s.totalParameters, model.parameterCount())
    XCTAssertEqual(s.rows.map(\.parameters).reduce(0, +), s.totalParameters)
    XCTAssertEqual(s.inputShape, [5])
    XCTAssertTrue(s.render().contains("GPT2Attention-6"))
  }
}
