import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTestSupport
import XCTest

/// `loom train seq2seq` on the tiny BART fixture (vocabulary 291, 32 positions): each objective
/// trains a few steps and saves a model AutoModelForSeq2SeqLM loads; bad inputs are clear errors.
final class TrainSeq2SeqCLITests: XCTestCase {
  static let bart = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/bart-tiny-text"
  var dir = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "loom-seq2seq-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func write(_ name: String, _ text: String) throws -> String {
    let path = dir + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static let text = (0..<24).map { i in
    ["to be or not to be.", "that is the question!", "whether tis nobler in the mind to suffer?", "the slings and arrows."][i % 4]
  }.joined(separator: "\n")

  func train(_ extra: [String], out: String = "out") throws -> (status: Int32, out: String, err: String) {
    try loom(
      ["train", "seq2seq", "--output-dir", dir + "/" + out, "--max-steps", "3", "--batch-size", "4", "--logging-steps", "1",
       "--seed", "1"] + extra)
  }

  func losses(_ out: String) throws -> [Double] {
    let s = try String(contentsOfFile: dir + "/" + out + "/metrics.jsonl", encoding: .utf8)
    return s.split(separator: "\n").compactMap { line in
      (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["loss"] as? Double
    }
  }

  func testDenoisingTrainsSavesAndReconstructs() throws {
    let data = try write("text.txt", Self.text)
    let r = try train([
      "--data", data, "--model", Self.bart, "--max-source-length", "24", "--validation-split", "0.25",
      "--reconstruction-examples", "2", "--lr", "1e-3",
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains("objective denoising"), r.out)
    XCTAssertTrue(r.out.contains("held-out reconstruction (2 examples)"), r.out)
    let l = try losses("out")
    XCTAssertEqual(l.count, 3)
    XCTAssertTrue(l.allSatisfy { $0.isFinite && $0 > 0 }, "\(l)")
    let model = try AutoModelForSeq2SeqLM.from(directory: dir + "/out")
    XCTAssertEqual(model.vocabularySize, 291)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/tokenizer.json"))
    let rec = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/reconstruction.json"))) as! [String: Any]
    XCTAssertEqual(rec["examples"] as? Int, 2)
    let corrupted = rec["corrupted_token_accuracy"] as! Double
    XCTAssertTrue(corrupted > 0 && corrupted < 1, "\(rec)")
  }

  /// The same seed gives the same losses; the data loader's noise does not hang on thread timing.
  func testDenoisingFromPresetIsReproducible() throws {
    let data = try write("text.txt", Self.text)
    let flags = ["--data", data, "--tokenizer", Self.bart, "--config", try tinyConfig(vocab: 291), "--max-source-length", "24"]
    let a = try train(flags, out: "a"), b = try train(flags, out: "b")
    XCTAssertEqual(a.status, 0, a.err)
    XCTAssertEqual(b.status, 0, b.err)
    XCTAssertEqual(try losses("a"), try losses("b"))
  }

  func tinyConfig(vocab: Int, extra: String = "") throws -> String {
    try write(
      "config-\(vocab).json",
      """
      {"model_type": "bart", "vocab_size": \(vocab), "d_model": 16, "encoder_layers": 1, "decoder_layers": 1,
       "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32,
       "max_position_embeddings": 64\(extra)}
      """)
  }

  func testPairsFromJSONLinesAndMissingColumns() throws {
    let rows = (0..<8).map { #"{"en": "to be or not \#($0)", "de": "sein oder nicht \#($0)"}"# }.joined(separator: "\n")
    let data = try write("pairs.jsonl", rows)
    let ok = try train([
      "--data", data, "--objective", "pairs", "--source-column", "en", "--target-column", "de", "--model", Self.bart,
      "--max-source-length", "32",
    ])
    XCTAssertEqual(ok.status, 0, ok.err)
    XCTAssertEqual(try losses("out").count, 3)
    let csv = try write("pairs.csv", "text,summary\nhello there,hi\n")
    let bad = try train(["--data", csv, "--objective", "pairs", "--model", Self.bart], out: "bad")
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("no column 'source' (--source-column); the file has text, summary"), bad.err)
  }

  func testSpanCorruptionNeedsSentinelsAndTrainsWithThem() throws {
    let data = try write("text.txt", Self.text)
    let none = try train(["--data", data, "--objective", "span-corruption", "--model", Self.bart], out: "none")
    XCTAssertNotEqual(none.status, 0)
    XCTAssertTrue(none.err.contains("has no sentinel token '<extra_id_0>'"), none.err)
    // The fixture's tokenizer plus <extra_id_9> … <extra_id_0> as ids 291 … 300.
    let tokDir = dir + "/t5tok"
    try FileManager.default.createDirectory(atPath: tokDir, withIntermediateDirectories: true)
    var tok = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.bart + "/tokenizer.json"))) as! [String: Any]
    var added = tok["added_tokens"] as! [[String: Any]]
    for k in 0..<10 {
      added.append([
        "id": 300 - k, "content": "<extra_id_\(k)>", "single_word": false, "lstrip": false, "rstrip": false,
        "normalized": false, "special": true,
      ])
    }
    tok["added_tokens"] = added
    try JSONSerialization.data(withJSONObject: tok).write(to: URL(fileURLWithPath: tokDir + "/tokenizer.json"))
    try FileManager.default.copyItem(atPath: Self.bart + "/tokenizer_config.json", toPath: tokDir + "/tokenizer_config.json")
    let r = try train([
      "--data", data, "--objective", "span-corruption", "--tokenizer", tokDir, "--config", try tinyConfig(vocab: 301),
      "--max-source-length", "24",
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertEqual(try losses("out").count, 3)
  }

  func testModelTypesWithoutSeq2SeqHeadAndMissingStartToken() throws {
    let data = try write("text.txt", Self.text)
    let bert = try train(["--data", data, "--tokenizer", Self.bart, "--model-type", "bert"], out: "bert")
    XCTAssertNotEqual(bert.status, 0)
    XCTAssertTrue(bert.err.contains("model_type 'bert' has no seq2seq LM head"), bert.err)
    XCTAssertTrue(bert.err.contains("use one that has: bart"), bert.err)
    let noStart = try train(
      ["--data", data, "--tokenizer", Self.bart, "--config", try tinyConfig(vocab: 291, extra: #", "decoder_start_token_id": null"#)],
      out: "nostart")
    XCTAssertNotEqual(noStart.status, 0)
    XCTAssertTrue(noStart.err.contains("decoder_start_token_id is null"), noStart.err)
    let badFlag = try train(["--data", data, "--tokenizer", Self.bart, "--mask-ratio", "1.5"], out: "flag")
    XCTAssertNotEqual(badFlag.status, 0)
    XCTAssertTrue(badFlag.err.contains("--mask-ratio must be in [0, 1], got 1.5"), badFlag.err)
  }
  /// The other seq2seq families train through the same command: T5 on span corruption from its
  /// fixture directory (a Unigram tokenizer with sentinels), the original Transformer on pairs
  /// from --model-type with a config; both outputs load back through AutoModelForSeq2SeqLM.
  func testT5AndTransformerTrainThroughTheSameCommand() throws {
    let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
    let data = try write("text.txt", Self.text)
    let t5 = try train(
      ["--data", data, "--objective", "span-corruption", "--model", fixtures + "/t5-tiny-text", "--max-source-length", "24"],
      out: "t5")
    XCTAssertEqual(t5.status, 0, t5.err)
    XCTAssertEqual(try losses("t5").count, 3)
    XCTAssertTrue(try AutoModelForSeq2SeqLM.from(directory: dir + "/t5") is T5ForConditionalGeneration)

    let rows = (0..<8).map { #"{"en": "to be or not \#($0)", "de": "sein oder nicht \#($0)"}"# }.joined(separator: "\n")
    let pairs = try write("pairs.jsonl", rows)
    let config = try write(
      "transformer.json",
      """
      {"model_type": "transformer", "d_model": 16, "nhead": 2, "num_encoder_layers": 1, "num_decoder_layers": 1,
       "dim_feedforward": 32, "max_position_embeddings": 64}
      """)
    let tr = try train(
      ["--data", pairs, "--objective", "pairs", "--source-column", "en", "--target-column", "de", "--tokenizer", Self.bart,
       "--config", config, "--max-source-length", "32"],
      out: "transformer")
    XCTAssertEqual(tr.status, 0, tr.err)
    XCTAssertEqual(try losses("transformer").count, 3)
    let back = try XCTUnwrap(try AutoModelForSeq2SeqLM.from(directory: dir + "/transformer") as? TransformerSeq2SeqLM)
    // vocab_size and the special ids come from the tokenizer (the BART fixture's: 291, pad 1, eos 2).
    XCTAssertEqual(back.config.vocabSize, 291)
    XCTAssertEqual(back.config.padTokenId, 1)
    XCTAssertEqual(back.config.decoderStartTokenId, 0)  // <s>
    // Both outputs carry HF's generation_config.json with the model's start token.
    for (out, start) in [("t5", 0), ("transformer", 0)] {
      let file = try XCTUnwrap(try GenerationConfigFile.load(directory: dir + "/" + out), out)
      XCTAssertEqual(file.config.decoderStartTokenId, start, out)
    }
    try assertGenerateMatchesInProcess(dir + "/transformer", prompt: "to be or not 3")
  }

  /// `loom generate` on a model directory prints what `Generation.generate` gives in process for
  /// the prompt encoded with the tokenizer's special tokens (greedy, then 2 of 3 beams).
  func assertGenerateMatchesInProcess(_ model: String, prompt: String) throws {
    let (lm, defaults) = try Generation.loadSeq2SeqLanguageModel(from: model)
    lm.eval()
    let codec = try TextCodec.load(model, modelVocabSize: lm.vocabularySize)
    guard case .hf(let tokenizer) = codec else { return XCTFail("\(model) should have tokenizer.json") }
    let ids = try tokenizer.encode(prompt, addSpecialTokens: true).ids.map(Int.init)
    var g = defaults
    g.maxNewTokens = 6
    g.suppressTokens = codec.unusedIds(modelVocabSize: lm.vocabularySize)
    let greedy = try loom(["generate", "--model", model, "--prompt", prompt, "--max-new-tokens", "6"])
    XCTAssertEqual(greedy.status, 0, greedy.err)
    XCTAssertEqual(greedy.out, codec.decode(try Generation.generate(lm, inputs: [ids], config: g)[0]) + "\n")
    (g.numBeams, g.numReturnSequences) = (3, 2)
    let beams = try loom([
      "generate", "--model", model, "--prompt", prompt, "--max-new-tokens", "6", "--num-beams", "3",
      "--num-return-sequences", "2",
    ])
    XCTAssertEqual(beams.status, 0, beams.err)
    let texts = try Generation.generate(lm, inputs: [ids], config: g).map(codec.decode)
    XCTAssertEqual(beams.out, texts.enumerated().map { "--- sequence \($0 + 1) ---\n\($1)\n" }.joined())
  }
  /// Switch Transformers trains through the same command, its router losses logged as parts.
  func testSwitchTransformersTrainsWithRouterLosses() throws {
    let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
    let data = try write("text.txt", Self.text)
    let config = try write(
      "switch.json",
      """
      {"model_type": "switch_transformers", "d_model": 8, "d_kv": 4, "d_ff": 16, "num_layers": 2,
       "num_decoder_layers": 2, "num_heads": 2, "num_experts": 4, "expert_capacity": 8,
       "num_sparse_encoder_layers": 1, "num_sparse_decoder_layers": 1, "relative_attention_num_buckets": 8,
       "relative_attention_max_distance": 16}
      """)
    let r = try train(
      ["--data", data, "--objective", "span-corruption", "--tokenizer", fixtures + "/t5-tiny-text", "--config", config,
       "--max-source-length", "24"],
      out: "switch")
    XCTAssertEqual(r.status, 0, r.err)
    let log = try String(contentsOfFile: dir + "/switch/metrics.jsonl", encoding: .utf8)
    XCTAssertEqual(try losses("switch").count, 3)
    XCTAssertTrue(log.contains("\"aux_loss\"") && log.contains("\"z_loss\""), log)
    XCTAssertTrue(
      try AutoModelForSeq2SeqLM.from(directory: dir + "/switch") is SwitchTransformersForConditionalGeneration)
  }
}
