import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN
import XCTest

/// `savePretrained` writes generation_config.json for models that generate, as transformers
/// 5.25's `save_pretrained` does (scripts/fixtures/make_generation_config_save_fixtures.py
/// records HF's files for the same fixtures), and Loom reads it back.
final class GenerationConfigSaveTests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static let hf: [String: [String: Any]] = {
    let data = FileManager.default.contents(atPath: fixtures + "/generation-config-saved.json")!
    return try! JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
  }()

  /// Flags HF copies from some configs' in-memory defaults with `GenerationConfig`'s own
  /// default values: writing them or not changes nothing.
  static let noOps: [String: Bool] = [
    "output_attentions": false, "output_hidden_states": false, "use_cache": true,
  ]

  static func significant(_ object: [String: Any]) -> NSDictionary {
    NSDictionary(
      dictionary: object.filter { key, value in
        guard let noOp = noOps[key] else { return true }
        return (value as? Bool) != noOp
      })
  }

  func saved(_ model: Module, _ name: String) throws -> String {
    let root =
      ProcessInfo.processInfo.environment["LOOM_KEEP_SAVED"]
      ?? NSTemporaryDirectory() + "loom-genconfig-\(getpid())"
    let dir = root + "/" + name
    if ProcessInfo.processInfo.environment["LOOM_KEEP_SAVED"] == nil {
      addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
    }
    try model.savePretrained(to: dir)
    return dir
  }

  func testGenerativeModelsWriteWhatTransformersWrites() throws {
    let models: [(String, Module)] = [
      ("gpt2-tiny", try AutoModelForCausalLM.from(directory: Self.fixtures + "/gpt2-tiny")),
      ("bart-tiny", try AutoModelForSeq2SeqLM.from(directory: Self.fixtures + "/bart-tiny")),
      ("t5-tiny", try AutoModelForSeq2SeqLM.from(directory: Self.fixtures + "/t5-tiny")),
      ("switch-tiny", try AutoModelForSeq2SeqLM.from(directory: Self.fixtures + "/switch-tiny")),
      (
        "transformer-tiny",
        try AutoModelForSeq2SeqLM.from(directory: Self.fixtures + "/transformer-tiny")
      ),
    ]
    for (name, model) in models {
      let dir = try saved(model, name)
      let data = try XCTUnwrap(
        FileManager.default.contents(atPath: dir + "/generation_config.json"), name)
      let written = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
      let expected = try XCTUnwrap(Self.hf[name], name)
      XCTAssertEqual(Self.significant(written), Self.significant(expected), name)
      XCTAssertEqual(written["transformers_version"] as? String, "5.25.0", name)
    }
  }

  /// Read back by Loom: the token ids of the model's config.
  func testSavedFileReadsBack() throws {
    let bart = try AutoModelForSeq2SeqLM.from(directory: Self.fixtures + "/bart-tiny")
    let file = try XCTUnwrap(try GenerationConfigFile.load(directory: try saved(bart, "bart")))
    XCTAssertEqual(file.config.decoderStartTokenId, 2)
    XCTAssertEqual(file.config.eosTokenIds, [2])
    XCTAssertEqual(file.config.padTokenId, 1)
    XCTAssertEqual(file.config.forcedEosTokenId, 2)
    XCTAssertTrue(
      file.keys.isSuperset(of: [
        "bos_token_id", "decoder_start_token_id", "eos_token_id", "forced_eos_token_id",
        "pad_token_id",
      ]), "\(file.keys)")
    let gpt2 = try AutoModelForCausalLM.from(directory: Self.fixtures + "/gpt2-tiny")
    let g = try XCTUnwrap(try GenerationConfigFile.load(directory: try saved(gpt2, "gpt2")))
    XCTAssertEqual(g.config.eosTokenIds, [96])
    XCTAssertEqual(g.config.padTokenId, 96)
  }

  /// Base models and classifiers do not generate: no generation_config.json, as in HF.
  func testModelsThatDoNotGenerateWriteNone() throws {
    let base = try AutoModel.from(directory: Self.fixtures + "/bart-tiny")
    XCTAssertFalse(base is any GenerativeModel)
    let dir = try saved(base, "bart-base")
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/config.json"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/generation_config.json"))
  }
}
