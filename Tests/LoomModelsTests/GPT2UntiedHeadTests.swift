import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import XCTest

/// A GPT-2 saved by Hugging Face with `tie_word_embeddings: false` (issue 13: main once
/// discarded its lm_head.weight and tied the output anyway, silently changing the text).
/// Fixture and expected tokens from scripts/fixtures/make_gpt2_untied_fixture.py.
final class GPT2UntiedHeadTests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let directory = fixtures + "/gpt2-untied"

  struct Expected: Decodable {
    let prompt: [Int]
    let greedy: [Int]
    let beam: [[Int]]
    let greedy_if_tied: [Int]
  }
  static let expected = try! JSONDecoder().decode(
    Expected.self, from: FileManager.default.contents(atPath: fixtures + "/gpt2-untied-generate.json")!)

  override func setUp() { TestDevice.apply() }

  func model() throws -> GPT2LMHeadModel {
    let m = try XCTUnwrap(try AutoModelForCausalLM.from(directory: Self.directory) as? GPT2LMHeadModel)
    m.eval()
    return m
  }

  func config(_ body: (inout GenerationConfig) -> Void) -> GenerationConfig {
    var c = GenerationConfig()
    c.eosTokenIds = [60]
    c.padTokenId = 60
    body(&c)
    return c
  }

  func testHeadIsLoadedFromTheFileNotTiedToTheEmbedding() throws {
    let m = try model()
    XCTAssertFalse(m.config.tieWordEmbeddings)
    let file = try SafeTensorsFile(path: Self.directory + "/model.safetensors")
    XCTAssertEqual(m.stateDict()["lm_head.weight"]?.toArray(Float.self), try file.tensor("lm_head.weight").toArray(Float.self))
    XCTAssertNotEqual(m.stateDict()["lm_head.weight"]?.toArray(Float.self), try file.tensor("transformer.wte.weight").toArray(Float.self))
  }

  func testGreedyAndBeamSearchMatchTransformersTokenForToken() throws {
    let m = try model()
    let e = Self.expected
    let greedy = try Generation.generate(m, prompts: [e.prompt], config: config { $0.maxNewTokens = 12 })[0]
    XCTAssertEqual(greedy, e.greedy)
    XCTAssertNotEqual(greedy, e.greedy_if_tied, "a tied head would give these tokens")
    let beam = try Generation.generate(m, prompts: [e.prompt], config: config {
      $0.maxNewTokens = 10; $0.numBeams = 3; $0.numReturnSequences = 2; $0.earlyStopping = .enabled
    })
    XCTAssertEqual(beam, e.beam)
  }
}
