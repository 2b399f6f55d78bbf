import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomOptim
import LoomTokenizers
import XCTest

@testable import LoomCage

/// Issue 20's pipeline evidence: a tiny GPT trained here on code where half the lines call `gets(` never gets an
/// unsafe candidate through the cage (regenerate until a safe one, or an error), the audit log traces every
/// candidate, streaming stops at the first failing chunk, and validators that throw or hang fail closed.
final class CagedGenerationTests: XCTestCase {
  static let lines = ["x: gets(b);\n", "x: fgets(b);\n"]

  /// Trained once for the class: ~150 AdamW steps on 24-character windows (about a second on one core).
  static let trained: (model: GPT2LMHeadModel, codec: TextCodec) = {
    let rng = Generator(seed: 3)
    var corpus = ""
    for _ in 0..<300 { corpus += lines[Int(rng.nextDouble() * 2)] }
    let tokenizer = CharTokenizer(corpus: corpus)
    let ids = try! tokenizer.encode(corpus)
    let model = try! GPT2LMHeadModel(
      GPT2Config(
        vocabSize: tokenizer.vocabSize, nPositions: 32, nEmbd: 32, nLayer: 1, nHead: 2, bosTokenId: nil,
        eosTokenId: nil),
      generator: Generator(seed: 5))
    let opt = AdamW(model.parameters(), lr: 1e-2, weightDecay: 0)
    let (batch, width) = (16, 24)
    for _ in 0..<150 {
      var rows: [Int64] = []
      for _ in 0..<batch {
        let start = Int(rng.nextDouble() * Double(ids.count - width))
        rows += ids[start..<(start + width)].map(Int64.init)
      }
      let x = Tensor(rows, shape: [batch, width])
      let loss = model.loss(x, labels: x).loss
      loss.backward()
      opt.step()
      opt.zeroGrad()
    }
    model.eval()
    return (model, .chars(tokenizer))
  }()

  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-caged-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func sampling(_ seed: UInt64, tokens: Int = 10) -> GenerationConfig {
    var g = GenerationConfig()
    g.doSample = true
    g.topK = 2  // the two continuations the model learned; no rare garbage
    g.maxNewTokens = tokens
    g.seed = seed
    return g
  }

  func generate(_ cage: SafetyCage, seed: UInt64, audit: AuditLog? = nil, onText: ((String) -> Void)? = nil, tokens: Int = 10)
    throws -> CagedOutput
  {
    let (model, codec) = Self.trained
    return try Generation.generate(
      model, prompt: "x:", codec: codec, config: sampling(seed, tokens: tokens), cage: cage, audit: audit,
      modelName: "tiny-gets", onText: onText)
  }

  func auditRecords(_ path: String) throws -> [[String: Any]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
  }

  func testTheModelWritesGetsWithoutTheCage() throws {
    let (model, codec) = Self.trained
    let ids = try codec.encode("x:")
    let texts = try (1...12).map { seed in
      codec.decode(Generation.continuation(try Generation.generate(model, prompts: [ids], config: sampling(UInt64(seed)))[0], promptLength: ids.count, eosTokenIds: []))
    }
    let unsafe = texts.filter { $0.hasPrefix(" gets(b);") }.count
    let safe = texts.filter { $0.hasPrefix(" fgets(b);") }.count
    print("uncaged candidates: \(unsafe) with gets(, \(safe) with fgets( of 12")
    XCTAssertGreaterThan(unsafe, 0, "the model learned to write gets(: \(texts)")
    XCTAssertGreaterThan(safe, 0, "and fgets(: \(texts)")
    XCTAssertEqual(unsafe + safe, 12, "it learned the two lines: \(texts)")
  }

  func testRegenerateReleasesOnlyASafeCandidateAndAuditsEveryOne() throws {
    let cage = SafetyCage(output: [
      CageEntry(try WordListValidator(words: ["gets("]), policy: .regenerate, maxAttempts: 10)
    ])
    let path = dir + "/audit.jsonl"
    let audit = try AuditLog(path: path)
    var retried = 0
    for seed in UInt64(1)...8 {
      let out = try generate(cage, seed: seed * 100, audit: audit)
      XCTAssertTrue(out.text!.hasPrefix(" fgets(b);"), "released \(out.text!)")
      XCTAssertEqual(try cage.output[0].validator.validate(out.text!).count, 0)
      if out.attempts > 1 { retried += 1 }
      XCTAssertEqual(out.checks.filter { !$0.released }.count, out.attempts - 1)
    }
    XCTAssertGreaterThan(retried, 0, "some first candidates wrote gets( and were regenerated")
    let records = try auditRecords(path)
    let outputs = records.filter { $0["stage"] as? String == "output" }
    // One input record (no input validators) and one output record per candidate per run.
    XCTAssertEqual(records.count - outputs.count, 8)
    XCTAssertEqual(outputs.filter { $0["released"] as! Bool }.count, 8, "one release per run")
    for r in outputs where !(r["released"] as! Bool) {
      XCTAssertEqual(r["verdict"] as? String, "fail")
      XCTAssertEqual(((r["findings"] as! [[String: Any]])[0])["ruleId"] as? String, "text.wordlist.banned")
      XCTAssertEqual(r["model"] as? String, "tiny-gets")
      XCTAssertEqual(r["prompt_sha256"] as? String, AuditLog.sha256("x:"))
    }
  }

  func testWhenNoCandidatePassesNothingIsReleased() throws {
    // Matching inside fgets( too, so every candidate fails.
    let cage = SafetyCage(output: [
      CageEntry(try WordListValidator(words: ["gets("], wholeWords: false), policy: .reask, maxAttempts: 4)
    ])
    let path = dir + "/audit.jsonl"
    XCTAssertThrowsError(try generate(cage, seed: 7, audit: try AuditLog(path: path))) { e in
      let refusal = e as! CageRefusal
      XCTAssertEqual(refusal.attempts, 4)
      XCTAssertTrue(refusal.description.contains("no candidate passed the cage in 4 attempt(s)"), refusal.description)
    }
    let outputs = try auditRecords(path).filter { $0["stage"] as? String == "output" }
    XCTAssertEqual(outputs.map { $0["attempt"] as! Int }, [1, 2, 3, 4])
    XCTAssertTrue(outputs.allSatisfy { !($0["released"] as! Bool) })
  }

  func testGreedyRegenerationIsRefusedRatherThanRepeated() throws {
    let (model, codec) = Self.trained
    let cage = SafetyCage(output: [
      CageEntry(try WordListValidator(words: ["gets("], wholeWords: false), policy: .reask, maxAttempts: 4)
    ])
    var g = GenerationConfig()
    g.maxNewTokens = 10
    XCTAssertThrowsError(try Generation.generate(model, prompt: "x:", codec: codec, config: g, cage: cage)) {
      XCTAssertTrue("\($0)".contains("greedy decoding would generate it again"), "\($0)")
    }
  }

  func testStreamingStopsAtTheFirstFailingChunk() throws {
    var cage = SafetyCage(output: [CageEntry(try WordListValidator(words: ["gets("], wholeWords: false))])
    cage.streamChunkTokens = 4
    var streamed: [String] = []
    XCTAssertThrowsError(try generate(cage, seed: 1, onText: { streamed.append($0) }, tokens: 30)) { e in
      let refusal = e as! CageRefusal
      // " get" or " fge" passed; the second chunk completes "gets(": generation stopped after 8 of 30 tokens.
      XCTAssertEqual(refusal.lastCheck?.text.count, 8, "\(refusal)")
      XCTAssertEqual(refusal.lastCheck?.verdicts.first?.result, .fail)
    }
    XCTAssertEqual(streamed.count, 1, "\(streamed)")
    XCTAssertEqual(streamed.first?.count, 4)
    XCTAssertFalse(streamed.joined().contains("gets("))
    // A passing stream emits chunk by chunk and the chunks add up to the released text.
    let safe = SafetyCage(output: [CageEntry(try WordListValidator(words: ["strcpy"]))], streamChunkTokens: 4)
    var chunks: [String] = []
    let out = try generate(safe, seed: 1, onText: { chunks.append($0) }, tokens: 20)
    XCTAssertGreaterThan(chunks.count, 3)
    XCTAssertEqual(chunks.joined(), out.text)
    XCTAssertEqual(out.text?.count, 20)
  }

  func testThrowingAndHangingValidatorsFailClosedInGeneration() throws {
    let throwing = SafetyCage(output: [CageEntry(ThrowingValidator(), policy: .reask, maxAttempts: 3)])
    XCTAssertThrowsError(try generate(throwing, seed: 1)) {
      XCTAssertEqual(($0 as! CageRefusal).attempts, 3)
      XCTAssertTrue("\($0)".contains("could not check the text: cannot parse"), "\($0)")
    }
    let hanging = SafetyCage(output: [CageEntry(SlowValidator(seconds: 3), policy: .noop, timeout: 0.05)])
    let start = Date()
    XCTAssertThrowsError(try generate(hanging, seed: 1)) {
      XCTAssertTrue("\($0)".contains("took longer than its time limit of 50 ms"), "\($0)")
    }
    XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    // An input validator refuses the prompt before any generation.
    let input = SafetyCage(input: [CageEntry(MarkerValidator(marker: "x:"))])
    XCTAssertThrowsError(try generate(input, seed: 1)) {
      XCTAssertEqual(($0 as! CageRefusal).attempts, 0)
      XCTAssertTrue("\($0)".contains("the cage refused the prompt"), "\($0)")
    }
    // Refrain releases nothing, without an error.
    let refrain = SafetyCage(output: [CageEntry(try WordListValidator(words: ["b"]), policy: .refrain)])
    XCTAssertNil(try generate(refrain, seed: 1).text)
  }

  func testFixesReachTheReleasedText() throws {
    let cage = SafetyCage(output: [CageEntry(try WordListValidator(words: ["gets("]), policy: .fix)])
    for seed in UInt64(1)...6 {
      let text = try generate(cage, seed: seed).text!
      XCTAssertTrue(text.hasPrefix(" fgets(b);") || text.hasPrefix(" *****b);"), text)
    }
  }

  func testTheTextGenerationPipelinePath() throws {
    let (model, codec) = Self.trained
    let pipe = TextGenerationPipeline(model: model, codec: codec)
    let cage = SafetyCage(output: [
      CageEntry(try WordListValidator(words: ["gets("]), policy: .regenerate, maxAttempts: 10)
    ])
    let text = try pipe("x:", config: sampling(2), cage: cage)
    XCTAssertTrue(text!.hasPrefix("x: fgets(b);"), text!)
  }

  /// The cage's cost on a 256-token generation (GPT-2 shape 4 layers × 128, greedy, KV cache) with the default text
  /// cage (prompt injection on the prompt; secrets, PII and length on the answer). Median of 3 runs each.
  func testCageOverheadOn256Tokens() throws {
    let codec = Self.trained.codec
    let model = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: codec.vocabSize, nPositions: 300, nEmbd: 128, nLayer: 4, nHead: 4, bosTokenId: nil, eosTokenId: nil),
      generator: Generator(seed: 9))
    model.eval()
    var g = GenerationConfig()
    g.maxNewTokens = 256
    let ids = try codec.encode("x:")
    let cage = SafetyCage.defaultCage(.text)
    func time(_ body: () throws -> Void) rethrows -> Double {
      let start = DispatchTime.now().uptimeNanoseconds
      try body()
      return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    var plain: [Double] = []
    var caged: [Double] = []
    var plainText = ""
    var cagedText = ""
    var validation = 0.0
    for _ in 0..<3 {
      plain.append(
        try time {
          let out = try Generation.generate(model, prompts: [ids], config: g)[0]
          plainText = codec.decode(Array(out.dropFirst(ids.count)))
        })
      caged.append(
        try time {
          let out = try Generation.generate(model, prompt: "x:", codec: codec, config: g, cage: cage)
          cagedText = out.text!
          validation = out.checks.flatMap(\.verdicts).reduce(0) { $0 + $1.seconds }
        })
    }
    let (p, c) = (plain.sorted()[1], caged.sorted()[1])
    let overhead = (c - p) / p * 100
    print(
      String(
        format: "cage overhead, 256 tokens: plain %.1f ms, caged %.1f ms, %+.2f%%; validators %.3f ms (%.2f%%)",
        p * 1000, c * 1000, overhead, validation * 1000, validation / p * 100))
    // The validators' own work, without the hop to a timed thread: run inline on the released text.
    var inline = cage
    inline.input = inline.input.map { e in var e = e; e.timeout = nil; return e }
    inline.output = inline.output.map { e in var e = e; e.timeout = nil; return e }
    let compute = time {
      _ = inline.check("x:", stage: .input)
      _ = inline.check(cagedText, stage: .output)
    }
    print(String(format: "validators inline: %.3f ms (%.2f%% of the generation)", compute * 1000, compute / p * 100))
    XCTAssertLessThan(compute / p, 0.05, "the validators' work is under 5% of the generation")
    // With the hops, 1–7 % measured on a loaded 2-core machine; 25 % leaves room for its scheduling noise.
    XCTAssertLessThan(validation / p, 0.25)
    XCTAssertEqual(cagedText, plainText, "the cage does not change a passing answer")
    XCTAssertEqual(cagedText.count, 256)
    // The end-to-end difference is printed, not asserted: on a loaded machine it is mostly scheduling noise (±10 %).
  }
}
