import Foundation
import LoomAdapt
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import LoomTokenizers
import XCTest

/// Prompt tuning against PEFT's PeftModelForCausalLM on a tiny random GPT-2 and adapters written by
/// scripts/fixtures/make_prompt_tuning_fixtures.py.
final class PromptTuningParityTests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let baseDir = fixtures + "/gpt2-prompt-base"
  static let expected = try! SafeTensorsFile(path: fixtures + "/prompt-tuning-expected.safetensors")

  struct GenerateFixture: Decodable {
    let prompts: [[Int]]
    let greedy: [Int]
    let beam: [[Int]]
    let batched_greedy: [[Int]]
    let batched_beam: [[Int]]
  }

  static let generation: GenerateFixture = {
    let data = FileManager.default.contents(atPath: fixtures + "/prompt-tuning-generate.json")!
    return try! JSONDecoder().decode(GenerateFixture.self, from: data)
  }()

  func base() throws -> GPT2LMHeadModel {
    try XCTUnwrap(try AutoModelForCausalLM.from(directory: Self.baseDir) as? GPT2LMHeadModel)
  }

  func adapter(_ name: String, trainable: Bool = false) throws -> PromptTuningCausalLM {
    try PromptTuningCausalLM.fromPretrained(
      base: try base(), adapterDirectory: Self.fixtures + "/" + name, isTrainable: trainable)
  }

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

  func forward(_ m: PromptTuningCausalLM) throws -> (loss: Tensor?, logits: Tensor) {
    m.forward(
      inputIds: try tensor("input_ids"), attentionMask: try tensor("attention_mask"),
      labels: try tensor("labels"))
  }

  func testLogitsLossAndPromptGradientMatchPEFT() throws {
    let m = try adapter("prompt-random", trainable: true)
    XCTAssertEqual(m.peftConfig.numVirtualTokens, 4)
    XCTAssertEqual(m.peftConfig.tokenDim, 16)
    m.train()
    let out = try forward(m)
    assertClose(out.logits, try tensor("logits"), 1e-4, "logits with the prompt [B, n + T, V]")
    assertClose(out.loss!.reshape([1]), try tensor("loss"), 1e-4, "loss")
    out.loss!.backward()
    assertClose(
      try XCTUnwrap(m.prompt.embedding.weight.grad), try tensor("grad.prompt"), 1e-4,
      "prompt gradient")
    let trainable = m.namedParameters().filter { $0.1.requiresGrad }.map { $0.0 }
    XCTAssertEqual(trainable, ["prompt_encoder.default.embedding.weight"], "the base is frozen")
    XCTAssertTrue(
      m.namedParameters().contains { $0.0 == "base_model.transformer.wte.weight" }, "PEFT's names")
    for (name, p) in m.namedParameters() where name.hasPrefix("base_model.") {
      XCTAssertNil(p.grad, "frozen \(name) gets no gradient")
    }
  }

  func testFiveAdamWStepsMatchPEFT() throws {
    let m = try adapter("prompt-random", trainable: true)
    m.train()
    let opt = AdamW(m.trainableParameters, lr: 3e-2, weightDecay: 0.01)
    var losses: [Double] = []
    for _ in 0..<5 {
      let loss = try forward(m).loss!
      loss.backward()
      clipGradNorm(m.parameters().filter(\.requiresGrad), maxNorm: 1)
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    let expectedLosses = try tensor("adamw.losses").toArray(Double.self)
    XCTAssertEqual(losses.count, 5)
    for (a, b) in zip(losses, expectedLosses) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    XCTAssertLessThan(losses[4], losses[0], "the prompt learns")
    assertClose(
      m.prompt.embedding.weight, try tensor("adamw.prompt"), 1e-4, "prompt after 5 AdamW steps")
  }

  /// TEXT init from Loom's tokenizer: the text repeated to fill 8 tokens equals PEFT's saved prompt; a
  /// longer text is truncated to 3 tokens and the note says so.
  func testTextInitCopiesTheTokenizedTextsEmbeddings() throws {
    let tokenizer = try Tokenizer.fromPretrained(Self.baseDir)
    let tokenize = { (text: String) in try tokenizer.encode(text).ids.map(Int.init) }
    let saved = try PromptTuningConfig.load(directory: Self.fixtures + "/prompt-text")
    XCTAssertEqual(saved.promptTuningInit, .text)
    XCTAssertEqual(
      try tokenize(saved.promptTuningInitText!), try tensor("text.token_ids").int64s.map(Int.init))
    var config = PromptTuningConfig(
      numVirtualTokens: 8, promptTuningInit: .text,
      promptTuningInitText: saved.promptTuningInitText,
      tokenizerNameOrPath: Self.baseDir)
    let m = try PromptTuningCausalLM(base: try base(), config: config, tokenize: tokenize)
    assertClose(m.prompt.embedding.weight, try tensor("text.embeddings"), 0, "TEXT init (repeated)")
    XCTAssertEqual(
      m.prompt.initNote,
      "prompt_tuning_init_text has 4 tokens for 8 virtual tokens: repeated to fill them")
    let loaded = try adapter("prompt-text")
    assertClose(
      loaded.prompt.embedding.weight, try tensor("text.embeddings"), 0, "PEFT's saved TEXT prompt")

    config.numVirtualTokens = 3
    config.promptTuningInitText = "classify the review: great film"
    let short = try PromptTuningCausalLM(base: try base(), config: config, tokenize: tokenize)
    assertClose(
      short.prompt.embedding.weight, try tensor("text_long.embeddings"), 0, "TEXT init (truncated)")
    let count = try tensor("text_long.token_ids").shape[0]
    XCTAssertEqual(
      short.prompt.initNote,
      "prompt_tuning_init_text has \(count) tokens, more than the 3 virtual tokens: only the first 3 initialise the prompt"
    )
  }

  func config(_ body: (inout GenerationConfig) -> Void) -> GenerationConfig {
    var c = GenerationConfig()
    c.eosTokenIds = [0]
    c.padTokenId = 0
    body(&c)
    return c
  }

  /// PEFT generates with use_cache=False here (see make_prompt_tuning_fixtures.py: its cached path re-injects
  /// the prompt on every step with transformers 5.25); Loom caches the prompt once and gives the same ids.
  func testGreedyAndBeamIdsMatchPEFTGenerate() throws {
    let m = try adapter("prompt-random")
    m.eval()
    let g = Self.generation
    XCTAssertEqual(
      try Generation.generate(m, prompts: [g.prompts[0]], config: config { $0.maxNewTokens = 8 })[
        0], g.greedy)
    let beams = try Generation.generate(
      m, prompts: [g.prompts[0]],
      config: config {
        $0.maxNewTokens = 8
        $0.numBeams = 3
        $0.numReturnSequences = 2
        $0.earlyStopping = .enabled
      })
    XCTAssertEqual(beams, g.beam)
    XCTAssertEqual(
      try Generation.generate(m, prompts: g.prompts, config: config { $0.maxNewTokens = 6 }),
      g.batched_greedy,
      "left-padded batch (padding takes positions, as PEFT's forward without position_ids)")
    XCTAssertEqual(
      try Generation.generate(
        m, prompts: g.prompts,
        config: config {
          $0.maxNewTokens = 6
          $0.numBeams = 2
        }), g.batched_beam)
  }

  /// The virtual tokens take the first positions: 48 positions less 4 leave 44 for prompt and new tokens.
  func testGenerationLengthCountsTheVirtualTokens() throws {
    let m = try adapter("prompt-random")
    XCTAssertEqual(m.maxPositions, 44)
    let prompt = Self.generation.prompts[0]
    XCTAssertThrowsError(
      try Generation.generate(
        m, prompts: [prompt], config: config { $0.maxNewTokens = 44 - prompt.count + 1 })
    ) { XCTAssertTrue("\($0)".contains("n_positions (44)"), "\($0)") }
    let out = try Generation.generate(
      m, prompts: [prompt],
      config: config {
        $0.maxNewTokens = 44 - prompt.count
        $0.eosTokenIds = []
      })
    XCTAssertEqual(out[0].count, 44)
  }

  /// The ids path and the inputs_embeds path agree on the base model (HF: `inputs_embeds=wte(ids)`).
  func testInputsEmbedsPathEqualsIdsPath() throws {
    let m = try base()
    let ids = try tensor("input_ids")
    let fromIds = noGrad { m(ids) }
    let fromEmbeds = noGrad { m(inputsEmbeds: m.transformer.wte(ids)) }
    assertClose(fromEmbeds, fromIds, 0, "logits")
  }
}
