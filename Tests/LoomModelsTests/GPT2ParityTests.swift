import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// GPT-2 against Hugging Face transformers on a tiny random checkpoint written by
/// scripts/fixtures/make_gpt2_fixtures.py.
final class GPT2ParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let expected = try! SafeTensorsFile(path: fixtures + "/gpt2-tiny-expected.safetensors")

  struct GenerateFixture: Decodable {
    let prompt: [Int]
    let greedy: [Int]
    let beam: [[Int]]
    let repetition_penalty: [Int]
    let no_repeat_greedy: [Int]
    let batched_prompts: [[Int]]
    let batched_mask: [[Int]]
    let batched_greedy: [[Int]]
    let next_token_logits: [Float]
  }

  static let generation: GenerateFixture = {
    let data = FileManager.default.contents(atPath: fixtures + "/gpt2-tiny-generate.json")!
    return try! JSONDecoder().decode(GenerateFixture.self, from: data)
  }()

  func model() throws -> GPT2LMHeadModel { try GPT2LMHeadModel.load(from: Self.fixtures + "/gpt2-tiny") }

  func assertClose(_ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
  }

  func testLogitsLossAndEveryGradientMatchTransformers() throws {
    let m = try model()
    let ids = try Self.expected.tensor("input_ids")
    let (loss, logits) = m.loss(ids, labels: ids)
    // LOOM_TEST_DEVICE=emulated: weights, activations and gradients all live on that device.
    XCTAssertTrue(m.parameters().allSatisfy { $0.device == TestDevice.device })
    XCTAssertEqual(logits.device, TestDevice.device)
    assertClose(logits, try Self.expected.tensor("logits"), 1e-4, "logits")
    assertClose(loss.reshape([1]), try Self.expected.tensor("loss"), 1e-4, "loss")
    loss.backward()
    let params = m.namedParameters()
    XCTAssertEqual(params.count, 28)
    for (name, p) in params {
      assertClose(p.grad!, try Self.expected.tensor("grad.\(name)"), 1e-4, "grad \(name)")
    }
  }

  /// HF Trainer's update: AdamW with no decay on biases/LayerNorm, linear warmup and
  /// decay, gradient clipping at 1.0, five steps.
  func testFiveAdamWStepsMatchTransformers() throws {
    let m = try model()
    let ids = try Self.expected.tensor("input_ids")
    let opt = AdamW(decayGroups(m, lr: 1e-3, weightDecay: 0.1))
    let scheduler = LRScheduler(opt, schedule: .linear(warmupSteps: 2, totalSteps: 10))
    var losses: [Double] = [], lrs: [Double] = []
    for _ in 0..<5 {
      let loss = m.loss(ids, labels: ids).loss
      loss.backward()
      clipGradNorm(m.parameters(), maxNorm: 1)
      lrs.append(opt.paramGroups[0].lr)
      opt.step()
      scheduler.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    let expectedLosses = try Self.expected.tensor("adamw.losses").toArray(Double.self)
    for (a, b) in zip(losses, expectedLosses) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    let expectedLRs = try Self.expected.tensor("adamw.lrs").toArray(Double.self)
    for (a, b) in zip(lrs, expectedLRs) { XCTAssertEqual(a, b, accuracy: 1e-9) }
    for (name, p) in m.namedParameters() {
      var mine = p, theirs = try Self.expected.tensor("adamw.\(name)")
      if name.hasSuffix("c_attn.bias") {
        // The key bias cannot change attention (it shifts every score of a row equally),
        // so its gradient is rounding noise that Adam normalises to ±lr steps: compare
        // only the query and value biases.
        let c = m.config.nEmbd
        mine = Tensor.cat([p.slice(dim: 0, end: c), p.slice(dim: 0, start: 2 * c)])
        theirs = Tensor.cat([theirs.slice(dim: 0, end: c), theirs.slice(dim: 0, start: 2 * c)])
      }
      assertClose(mine, theirs, 1e-4, "parameter \(name) after 5 steps")
    }
  }

  func config(_ body: (inout GenerationConfig) -> Void) -> GenerationConfig {
    var c = GenerationConfig()
    c.eosTokenIds = [96]
    c.padTokenId = 96
    body(&c)
    return c
  }

  func testGreedyRepetitionPenaltyAndNoRepeatMatchTransformers() throws {
    let m = try model()
    let g = Self.generation
    XCTAssertEqual(try Generation.generate(m, prompts: [g.prompt], config: config { $0.maxNewTokens = 12 })[0], g.greedy)
    XCTAssertEqual(
      try Generation.generate(m, prompts: [g.prompt], config: config { $0.maxNewTokens = 12; $0.repetitionPenalty = 1.8 })[0],
      g.repetition_penalty)
    XCTAssertEqual(
      try Generation.generate(m, prompts: [g.prompt], config: config { $0.maxNewTokens = 12; $0.noRepeatNgramSize = 2 })[0],
      g.no_repeat_greedy)
  }

  /// min_new_tokens holds EOS back; bad_words_ids never appear (single and two-token).
  func testMinNewTokensAndBadWords() throws {
    let m = try model()
    let g = Self.generation
    // Greedy reaches EOS (96) after 6 new tokens; with min_new_tokens 9 it cannot.
    XCTAssertEqual(g.greedy.last, 96)
    let held = try Generation.generate(m, prompts: [g.prompt], config: config { $0.maxNewTokens = 12; $0.minNewTokens = 9 })[0]
    XCTAssertFalse(held.dropFirst(g.prompt.count).prefix(9).contains(96), "\(held)")
    let banned = try Generation.generate(m, prompts: [g.prompt], config: config {
      $0.maxNewTokens = 12; $0.badWordsIds = [[39], [47, 48]]
    })[0]
    let new = Array(banned.dropFirst(g.prompt.count))
    XCTAssertFalse(new.contains(39), "\(banned)")
    for i in 1..<max(new.count, 1) where i < new.count { XCTAssertFalse(new[i - 1] == 47 && new[i] == 48, "\(banned)") }
    XCTAssertNotEqual(new, Array(g.greedy.dropFirst(g.prompt.count)))
  }

  /// The printed continuation stops at the first end-of-text; padding after it is dropped.
  func testContinuationStopsAtEndOfText() {
    XCTAssertEqual(Generation.continuation([5, 6, 7, 96, 96, 96], promptLength: 2, eosTokenIds: [96]), [7])
    XCTAssertEqual(Generation.continuation([5, 6, 7, 8], promptLength: 2, eosTokenIds: [96]), [7, 8])
    XCTAssertEqual(Generation.continuation(Self.generation.greedy, promptLength: 5, eosTokenIds: [96]), [39, 39, 47, 48, 53])
  }

  func testBeamSearchMatchesTransformers() throws {
    let m = try model()
    let g = Self.generation
    let out = try Generation.generate(m, prompts: [g.prompt], config: config {
      $0.maxNewTokens = 10; $0.numBeams = 4; $0.lengthPenalty = 1.3; $0.noRepeatNgramSize = 2
      $0.earlyStopping = .enabled; $0.numReturnSequences = 2
    })
    XCTAssertEqual(out, g.beam)
  }

  func testBatchedLeftPaddedGreedyMatchesTransformers() throws {
    let m = try model()
    let g = Self.generation
    let prompts = zip(g.batched_prompts, g.batched_mask).map { p, mask in zip(p, mask).filter { $0.1 == 1 }.map(\.0) }
    let out = try Generation.generate(m, prompts: prompts, config: config { $0.maxNewTokens = 8 })
    XCTAssertEqual(out, g.batched_greedy)
  }

  func testKVCacheGivesTheSameLogitsAsAFullForward() throws {
    let m = try model()
    let ids = Tensor([Int64(5), 17, 42, 8, 23, 39, 1], shape: [1, 7])
    let full = noGrad { m(ids) }
    let caches = m.makeCaches(batch: 1, capacity: 16)
    let first = noGrad { m(ids.slice(dim: 1, end: 4), caches: caches) }
    var steps = [first]
    for t in 4..<7 { steps.append(noGrad { m(ids.slice(dim: 1, start: t, end: t + 1), caches: caches) }) }
    assertClose(Tensor.cat(steps, dim: 1), full, 1e-4, "cached logits")
  }

  /// top-k / top-p never emit a filtered token; sampled frequencies follow the distribution.
  func testSamplingRespectsFiltersAndDistribution() throws {
    let m = try model()
    let g = Self.generation
    let logits = g.next_token_logits
    let probs = softmax(logits.map { $0 / 0.7 })
    let ranked = probs.indices.sorted { probs[$0] > probs[$1] }
    let allowedTopK = Set(ranked.prefix(5))
    var counts = [Int](repeating: 0, count: logits.count)
    let draws = 3000
    for s in 0..<draws {
      let out = try Generation.generate(m, prompts: [g.prompt], config: config {
        $0.maxNewTokens = 1; $0.doSample = true; $0.temperature = 0.7; $0.topK = 5; $0.seed = UInt64(s)
      })
      let token = out[0].last!
      XCTAssertTrue(allowedTopK.contains(token), "top-k emitted filtered token \(token)")
      counts[token] += 1
    }
    let kept = ranked.prefix(5).map { probs[$0] }.reduce(0, +)
    for t in allowedTopK {
      let expected = Double(probs[t] / kept)
      XCTAssertEqual(Double(counts[t]) / Double(draws), expected, accuracy: 0.035, "token \(t)")
    }
    // top-p = 0.5: only the smallest set of top tokens reaching 50% may appear.
    var mass: Float = 0
    var nucleus = Set<Int>()
    for t in softmax(logits).indices.sorted(by: { logits[$0] > logits[$1] }) {
      nucleus.insert(t)
      mass += softmax(logits)[t]
      if mass >= 0.5 { break }
    }
    for s in 0..<300 {
      let out = try Generation.generate(m, prompts: [g.prompt], config: config {
        $0.maxNewTokens = 1; $0.doSample = true; $0.topK = 0; $0.topP = 0.5; $0.seed = UInt64(s)
      })
      XCTAssertTrue(nucleus.contains(out[0].last!), "top-p emitted filtered token \(out[0].last!)")
    }
  }

  func softmax(_ x: [Float]) -> [Float] {
    let m = x.max()!
    let e = x.map { Foundation.exp(Double($0 - m)) }
    let s = e.reduce(0, +)
    return e.map { Float($0 / s) }
  }

  func testSaveAndReloadRoundTrips() throws {
    let m = try model()
    let dir = NSTemporaryDirectory() + "loom-gpt2-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try m.save(to: dir)
    let again = try GPT2LMHeadModel.load(from: dir)
    let ids = Tensor([Int64(1), 2, 3], shape: [1, 3])
    assertClose(noGrad { again(ids) }, noGrad { m(ids) }, 0, "reloaded logits")
    XCTAssertEqual(again.config, m.config)
  }

  func testBadModelDirectoriesGiveClearErrors() throws {
    let dir = NSTemporaryDirectory() + "loom-bad-\(UUID().uuidString)"
    XCTAssertThrowsError(try GPT2LMHeadModel.load(from: dir)) { XCTAssertTrue("\($0)".contains("does not exist")) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    XCTAssertThrowsError(try GPT2LMHeadModel.load(from: dir)) { XCTAssertTrue("\($0)".contains("config.json is missing")) }
    // A config that does not match the weights.
    let src = Self.fixtures + "/gpt2-tiny"
    try FileManager.default.copyItem(atPath: src + "/model.safetensors", toPath: dir + "/model.safetensors")
    var modelConfig = try JSONDecoder().decode(GPT2Config.self, from: Data(contentsOf: URL(fileURLWithPath: src + "/config.json")))
    modelConfig.nEmbd = 64
    try JSONEncoder().encode(modelConfig).write(to: URL(fileURLWithPath: dir + "/config.json"))
    XCTAssertThrowsError(try GPT2LMHeadModel.load(from: dir)) { error in
      XCTAssertTrue("\(error)".contains("size mismatches"), "\(error)")
      XCTAssertTrue("\(error)".contains("does config.json match the weights"), "\(error)")
    }
    // A prompt longer than n_positions.
    let m = try model()
    XCTAssertThrowsError(try Generation.generate(m, prompts: [Array(repeating: 1, count: 60)], config: config { $0.maxNewTokens = 10 })) {
      XCTAssertTrue("\($0)".contains("exceed the model's n_positions (64)"))
    }
    // Contradictory settings.
    XCTAssertThrowsError(try Generation.generate(m, prompts: [[1]], config: config { $0.numReturnSequences = 2 }))
  }
}
