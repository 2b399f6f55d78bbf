import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTokenizers
import XCTest

/// Pipelines over GPT-2's real tokenizer (from Loom's data directory) and a small
/// random GPT-2 with its vocabulary.
final class PipelineTests: XCTestCase {
  override func setUp() { TestDevice.apply() }
  func gpt2Tokenizer() throws -> Tokenizer {
    do { return try Tokenizer.gpt2() } catch { throw XCTSkip("GPT-2 vocabulary missing: \(error)") }
  }

  func testTextGenerationAndFeatureExtraction() throws {
    let tokenizer = try gpt2Tokenizer()
    manualSeed(3)
    let model = try GPT2LMHeadModel(GPT2Config(vocabSize: 50257, nPositions: 64, nEmbd: 32, nLayer: 2, nHead: 2))
    let pipe = TextGenerationPipeline(model: model, tokenizer: tokenizer)
    var config = GenerationConfig()
    config.maxNewTokens = 6
    let text = try pipe("Hello, my name is", config: config)
    XCTAssertEqual(text.count, 1)
    XCTAssertTrue(text[0].hasPrefix("Hello, my name is"), text[0])
    XCTAssertGreaterThan(text[0].count, "Hello, my name is".count)

    let features = try FeatureExtractionPipeline(model: model, tokenizer: tokenizer)("Hello world")
    let ids = tokenizer.encodeIds("Hello world").map { Int64($0) }
    XCTAssertEqual(ids, [15496, 995])
    XCTAssertEqual(features.shape, [2, 32])
    let direct = noGrad { model.transformer(Tensor(ids, shape: [1, 2])) }
    XCTAssertEqual(features.floats, direct.squeeze(0).floats)
  }

  /// `TextGenerationPipeline(directory:)` reads what `loom train gpt --char` saves.
  func testTextGenerationReadsCharacterModels() throws {
    let dir = NSTemporaryDirectory() + "loom-char-pipeline-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let chars = CharTokenizer(corpus: "to be or not")
    manualSeed(6)
    let model = try GPT2LMHeadModel(
      GPT2Config(vocabSize: chars.vocabSize, nPositions: 32, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil, eosTokenId: nil))
    try model.save(to: dir)
    try TextCodec.chars(chars).save(to: dir, source: nil)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/char_vocab.json"))
    let pipe = try TextGenerationPipeline(directory: dir)
    var config = GenerationConfig()
    config.maxNewTokens = 9
    let text = try pipe("to be", config: config)[0]
    XCTAssertTrue(text.hasPrefix("to be"), text)
    XCTAssertEqual(text.unicodeScalars.count, 14)
    // The same ids as generating from the encoded prompt directly.
    model.eval()
    let ids = try chars.encode("to be")
    let direct = try Generation.generate(model, prompts: [ids], config: config)[0]
    XCTAssertEqual(text, "to be" + chars.decode(Array(direct.dropFirst(ids.count))))
    XCTAssertThrowsError(try pipe("xyz")) { XCTAssertTrue("\($0)".contains("not in the vocabulary"), "\($0)") }
  }

  /// README's library snippet: generate ids, then decode the continuation.
  func testReadmeSnippetDecodesTheContinuation() throws {
    let dir = NSTemporaryDirectory() + "loom-readme-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let chars = CharTokenizer(corpus: "ROMEO: and JULIET\n")
    manualSeed(7)
    try GPT2LMHeadModel(
      GPT2Config(vocabSize: chars.vocabSize, nPositions: 64, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil, eosTokenId: nil)
    ).save(to: dir)
    try TextCodec.chars(chars).save(to: dir, source: nil)

    let model = try GPT2LMHeadModel.load(from: dir)
    model.eval()  // dropout off, as HF's from_pretrained leaves it
    let codec = try TextCodec.load(dir)
    let prompt = try codec.encode("ROMEO:")
    var config = GenerationConfig()
    config.maxNewTokens = 50
    config.numBeams = 4
    let ids = try Generation.generate(model, prompts: [prompt], config: config)
    let text = codec.decode(Generation.continuation(ids[0], promptLength: prompt.count, eosTokenIds: config.eosTokenIds))
    XCTAssertEqual(text.unicodeScalars.count, 50)
    XCTAssertEqual(try TextGenerationPipeline(directory: dir)("ROMEO:", config: config)[0], "ROMEO:" + text)
  }
}
