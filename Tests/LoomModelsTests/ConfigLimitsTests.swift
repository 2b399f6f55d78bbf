import Foundation
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import XCTest

/// config.json sizes that asked main for hundreds of GB or hung it (issue 13), fields of the
/// wrong type, and a char_vocab.json of the wrong size: each is a clear error naming the file
/// and the field, raised before anything is allocated.
final class ConfigLimitsTests: XCTestCase {
  static let gpt2 = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/gpt2-tiny"
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-limits-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  /// The tiny GPT-2 fixture with `edit` applied to its config.json.
  func model(_ edit: [String: Any]) throws -> String {
    let out = dir + "/m-\(UUID().uuidString)"
    try FileManager.default.copyItem(atPath: Self.gpt2, toPath: out)
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    config.merge(edit) { $1 }
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: out + "/config.json"))
    return out
  }

  func error(_ body: () throws -> Any) -> String {
    do {
      _ = try body()
      return "no error"
    } catch { return "\(error)" }
  }

  /// The input behind session 13's "AddressSanitizer error" in fuzz-config: a trap (`0..<-5` is no Range) in
  /// SwitchTransformersConfig.validate(), which checked bos_token_id against vocab_size before vocab_size itself; the
  /// ASan report was the Swift runtime's backtracer reading memory after the trap. Also Fuzz/corpus/config seed
  /// switch-negative-vocab.json; run as fuzz-config runs it (config.json, then the same bytes as generation_config.json).
  func testSwitchTokenIdsWithANegativeVocabSizeAreAFieldErrorNotATrap() throws {
    let cases = [
      #"{"model_type": "switch_transformers", "vocab_size": -5, "bos_token_id": 0}"#,
      #"{"model_type": "switch_transformers", "vocab_size": -1, "decoder_start_token_id": 0}"#,
    ]
    for json in cases {
      try Data(json.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
      let text = error { try AutoConfig.from(directory: dir) }
      XCTAssertTrue(text.contains("\(dir!)/config.json"), text)
      XCTAssertTrue(text.contains("vocab_size must be positive, got"), text)
      try Data(json.utf8).write(to: URL(fileURLWithPath: dir + "/" + GenerationConfigFile.fileName))
      XCTAssertEqual(try GenerationConfigFile.load(directory: dir)?.config.eosTokenIds, [])
    }
  }

  func testPositionsOf2To31Minus1IsAFieldErrorNotAFatalError() throws {
    let m = try model(["n_positions": 2_147_483_647])
    let text = error { try AutoModelForCausalLM.from(directory: m) }
    XCTAssertTrue(text.contains("\(m)/config.json"), text)
    XCTAssertTrue(text.contains("n_positions = 2147483647 is beyond Loom's limit"), text)
  }

  func testLayersOf2To62IsRejectedBeforeBuilding() throws {
    let m = try model(["n_layer": 4_611_686_018_427_387_904])
    XCTAssertTrue(error { try AutoModelForCausalLM.from(directory: m) }.contains("n_layer = 4611686018427387904 is beyond"))
  }

  func testSizesWithinEachLimitButHugeTogetherAreRejected() {
    // n_positions 2^20 × n_embd 2^16 = 2^36 parameters (256 GB) passes every per-field limit.
    let config = GPT2Config(vocabSize: 97, nPositions: 1 << 20, nEmbd: 1 << 16, nLayer: 1, nHead: 1)
    let text = error { try AutoModel.from(config: config) }
    XCTAssertTrue(text.contains("parameters, beyond Loom's limit of 4294967296"), text)
    let ae = AutoencoderConfig(layerSizes: [1 << 24, 1 << 24])
    XCTAssertTrue(error { try ae.validate() }.contains("beyond Loom's limit"))
  }

  func testConfigLargerThanItsWeightsIsRejectedBeforeAllocating() throws {
    // Within every limit, but the weights are the 97×32 fixture's: no tensor is 8192 wide.
    let m = try model(["n_embd": 8192, "n_head": 4])
    let text = error { try AutoModelForCausalLM.from(directory: m) }
    XCTAssertTrue(text.contains("\(m)/config.json: n_embd = 8192, but no tensor of the weights has a dimension that large"), text)
    // A size no field exceeds alone, but the model it describes is ~ 80× the weights.
    let layers = try model(["n_layer": 28, "n_embd": 128, "n_head": 4])
    let t2 = error { try AutoModelForCausalLM.from(directory: layers) }
    XCTAssertTrue(t2.contains("describes a model of about"), t2)
    XCTAssertTrue(t2.contains("does config.json belong to these weights?"), t2)
    // The fixture itself still loads.
    XCTAssertNoThrow(try AutoModelForCausalLM.from(directory: try model([:])))
  }

  func testWrongTypesNameTheFieldAndWhatWasFound() throws {
    let cases: [([String: Any], String)] = [
      (["n_embd": "abc"], "field 'n_embd' must be an integer, got a string \"abc\""),
      (["n_embd": 1e20], "field 'n_embd' holds the number 1e+20, which is out of range"),
      (["tie_word_embeddings": 3], "field 'tie_word_embeddings' must be true or false, got the number 3"),
      (["n_inner": [1]], "field 'n_inner' must be an integer, got a list of 1"),
    ]
    for (edit, expected) in cases {
      let m = try model(edit)
      let text = error { try AutoConfig.from(directory: m) }
      XCTAssertTrue(text.hasPrefix("\(m)/config.json: \(expected)"), text)
      XCTAssertFalse(text.contains("DecodingError"), text)
    }
  }

  func testConfigThatIsADirectoryOrMissing() throws {
    let m = try model([:])
    try FileManager.default.removeItem(atPath: m + "/config.json")
    XCTAssertTrue(error { try AutoConfig.from(directory: m) }.contains("config.json is missing"))
    try FileManager.default.createDirectory(atPath: m + "/config.json", withIntermediateDirectories: true)
    XCTAssertEqual(error { try AutoConfig.from(directory: m) }, "cannot read \(m)/config.json: is a directory, not a file")
  }

  func testCharVocabLargerThanVocabSizeIsRejected() throws {
    // The fixture's vocab_size is 97; a 98th character would have no embedding row.
    let m = try model([:])
    let chars98 = (0..<98).map { String(UnicodeScalar(UInt8(32 + $0))) }
    try JSONEncoder().encode(chars98).write(to: URL(fileURLWithPath: m + "/char_vocab.json"))
    let text = error { try TextGenerationPipeline(directory: m) }
    XCTAssertEqual(
      text,
      "\(m)/char_vocab.json lists 98 characters but the model's vocab_size is 97: the vocabulary belongs to another model (char_vocab.json may list at most vocab_size characters)")
    // Fewer characters: a model fine-tuned from a larger vocabulary; ids 3..<97 are unused.
    try JSONEncoder().encode(["a", "b", "c"]).write(to: URL(fileURLWithPath: m + "/char_vocab.json"))
    let small = try TextCodec.load(m, modelVocabSize: 97)
    XCTAssertEqual(small.vocabSize, 3)
    XCTAssertEqual(small.unusedIds(modelVocabSize: 97), Array(3..<97))
    try JSONEncoder().encode(["a", "b", "a"]).write(to: URL(fileURLWithPath: m + "/char_vocab.json"))
    XCTAssertEqual(error { try TextCodec.load(m) }, "\(m)/char_vocab.json: entry 2 repeats entry 0 (each character once)")
    let chars = (0..<97).map { String(UnicodeScalar(UInt8(32 + $0))) }
    try JSONEncoder().encode(chars).write(to: URL(fileURLWithPath: m + "/char_vocab.json"))
    XCTAssertEqual(try TextCodec.load(m, modelVocabSize: 97).vocabSize, 97)
    XCTAssertEqual(try TextCodec.load(m, modelVocabSize: 97).unusedIds(modelVocabSize: 97), [])
  }
}
