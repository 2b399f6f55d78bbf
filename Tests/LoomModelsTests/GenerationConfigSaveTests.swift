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

  /// A model loaded with its own generation_config.json saves that file back (transformers
  /// keeps it as `model.generation_config`), not one re-derived from config.json: fine-tuning
  /// keeps the source's beams, lengths and forced ids. Floats stay floats.
  func testLoadedGenerationConfigIsSavedBack() throws {
    let source = NSTemporaryDirectory() + "loom-genconfig-source-\(getpid())"
    addTeardownBlock { try? FileManager.default.removeItem(atPath: source) }
    try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
    for file in ["config.json", "model.safetensors"] {
      try FileManager.default.copyItem(atPath: Self.fixtures + "/bart-tiny/" + file, toPath: source + "/" + file)
    }
    let custom = """
      {"decoder_start_token_id": 2, "eos_token_id": 2, "forced_bos_token_id": 0, "num_beams": 4,
       "max_length": 20, "no_repeat_ngram_size": 3, "length_penalty": 2.0, "temperature": 1.0,
       "early_stopping": true, "transformers_version": "4.40.0"}
      """
    try Data(custom.utf8).write(to: URL(fileURLWithPath: source + "/generation_config.json"))
    let bart = try AutoModelForSeq2SeqLM.from(directory: source)
    let dir = try saved(bart, "bart-custom")
    let data = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/generation_config.json"))
    let text = try XCTUnwrap(String(data: data, encoding: .utf8))
    XCTAssertTrue(text.contains("\"length_penalty\" : 2.0"), text)
    XCTAssertTrue(text.contains("\"temperature\" : 1.0"), text)
    let file = try XCTUnwrap(try GenerationConfigFile.load(directory: dir))
    XCTAssertEqual(file.config.numBeams, 4)
    XCTAssertEqual(file.config.maxLength, 20)
    XCTAssertEqual(file.config.noRepeatNgramSize, 3)
    XCTAssertEqual(file.config.forcedBosTokenId, 0)
    XCTAssertEqual(file.config.lengthPenalty, 2.0)
    let written = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    XCTAssertEqual(written["transformers_version"] as? String, "5.25.0")
    XCTAssertNil(written["_from_model_config"], "the loaded file had none")

    // A model built from a config (nothing loaded) still derives its file from config.json.
    let loaded = try XCTUnwrap(bart as? BartForConditionalGeneration)
    let fresh = try BartForConditionalGeneration.make(config: loaded.config)
    let derived = try XCTUnwrap(
      FileManager.default.contents(atPath: try saved(fresh, "bart-fresh") + "/generation_config.json"))
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: derived) as? [String: Any])
    XCTAssertEqual(object["_from_model_config"] as? Bool, true)
    XCTAssertNil(object["num_beams"])
  }
}
