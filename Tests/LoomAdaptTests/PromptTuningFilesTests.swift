import Foundation
import LoomAdapt
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// PEFT's prompt-tuning files both ways, and clear errors for adapters that do not fit.
final class PromptTuningFilesTests: XCTestCase {
  static let fixtures = PromptTuningParityTests.fixtures

  func base() throws -> GPT2LMHeadModel {
    try XCTUnwrap(
      try AutoModelForCausalLM.from(directory: PromptTuningParityTests.baseDir) as? GPT2LMHeadModel)
  }

  func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "loom-prompt-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

  /// The config Loom writes is PEFT's file byte for byte (sorted keys, PEFT's field set, nulls).
  func testAdapterConfigIsWrittenAsPEFTWritesIt() throws {
    for name in ["prompt-random", "prompt-text"] {
      let path = Self.fixtures + "/\(name)/adapter_config.json"
      let config = try PromptTuningConfig.load(directory: Self.fixtures + "/" + name)
      XCTAssertTrue(config.inferenceMode)
      XCTAssertEqual(config.taskType, .causalLM)
      XCTAssertEqual(config.baseModelNameOrPath, "gpt2-prompt-base")
      XCTAssertEqual(config.jsonText(), try text(path), name)
    }
  }

  func testSavedAdapterLoadsBackAndRunsTheSame() throws {
    let m = try PromptTuningCausalLM.fromPretrained(
      base: try base(), adapterDirectory: Self.fixtures + "/prompt-random", isTrainable: true)
    // Move the prompt so the round trip is not just the fixture's file.
    noGrad { m.prompt.embedding.weight.copyIn(m.prompt.embedding.weight * 1.5) }
    let dir = try temporaryDirectory()
    try m.saveAdapter(to: dir)
    let file = try SafeTensorsFile(path: dir + "/adapter_model.safetensors")
    XCTAssertEqual(file.names, ["prompt_embeddings"])
    XCTAssertEqual(try file.tensor("prompt_embeddings").shape, [4, 16])
    let again = try PromptTuningCausalLM.fromPretrained(base: try base(), adapterDirectory: dir)
    XCTAssertEqual(
      again.prompt.embedding.weight.toArray(Float.self),
      m.prompt.embedding.weight.toArray(Float.self))
    XCTAssertFalse(again.prompt.embedding.weight.requiresGrad, "loaded for inference unless asked")
    let ids = Tensor([Int64(5), 9, 17, 30], shape: [1, 4])
    XCTAssertEqual(
      noGrad { again.forward(inputIds: ids).logits }.toArray(Float.self),
      noGrad { m.forward(inputIds: ids).logits }.toArray(Float.self))
    var saved = m.peftConfig
    saved.inferenceMode = true
    XCTAssertEqual(try text(dir + "/adapter_config.json"), saved.jsonText())
  }

  /// With LOOM_PROMPT_TUNING_EXPORT_DIR set, writes a trained Loom adapter and Loom's logits there for
  /// scripts/fixtures/check_prompt_tuning_export.py (PeftModel.from_pretrained) to compare.
  func testExportForPEFT() throws {
    guard let dir = ProcessInfo.processInfo.environment["LOOM_PROMPT_TUNING_EXPORT_DIR"],
      !dir.isEmpty
    else {
      throw XCTSkip("LOOM_PROMPT_TUNING_EXPORT_DIR is not set")
    }
    var config = PromptTuningConfig(numVirtualTokens: 5)
    config.baseModelNameOrPath = "gpt2-prompt-base"
    let m = try PromptTuningCausalLM(
      base: try base(), config: config, generator: Generator(seed: 11))
    let ids = Tensor([Int64(0), 0, 12, 40, 7, 3, 8, 51, 60, 2, 9, 13], shape: [2, 6])
    let mask = Tensor([Int64(0), 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], shape: [2, 6])
    let opt = AdamW(m.trainableParameters, lr: 0.05)
    for _ in 0..<3 {
      m.forward(inputIds: ids, attentionMask: mask, labels: ids).loss!.backward()
      opt.step()
      opt.zeroGrad()
    }
    try m.saveAdapter(to: dir)
    let logits = noGrad { m.forward(inputIds: ids, attentionMask: mask).logits }
    try SafeTensors.save(
      ["input_ids": ids, "attention_mask": mask, "logits": logits],
      to: dir + "/loom-logits.safetensors")
  }

  func writeAdapter(
    _ dir: String, config: [String: Any],
    tensors: [String: Tensor] = ["prompt_embeddings": Tensor.zeros([4, 16])]
  ) throws {
    var json: [String: Any] = [
      "peft_type": "PROMPT_TUNING", "task_type": "CAUSAL_LM", "num_virtual_tokens": 4,
      "token_dim": 16,
      "num_transformer_submodules": 1, "prompt_tuning_init": "RANDOM",
    ]
    json.merge(config) { $1 }
    let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    try data.write(to: URL(fileURLWithPath: dir + "/adapter_config.json"))
    try SafeTensors.save(tensors, to: dir + "/adapter_model.safetensors")
  }

  func assertLoadFails(
    config: [String: Any],
    tensors: [String: Tensor] = ["prompt_embeddings": Tensor.zeros([4, 16])],
    mentions parts: [String], file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let dir = try temporaryDirectory()
    try writeAdapter(dir, config: config, tensors: tensors)
    XCTAssertThrowsError(
      try PromptTuningCausalLM.fromPretrained(base: try base(), adapterDirectory: dir)
    ) { error in
      let message = "\(error)"
      for part in parts {
        XCTAssertTrue(
          message.contains(part), "\(message) should mention \(part)", file: file, line: line)
      }
    }
  }

  func testBadAdaptersFailWithClearErrors() throws {
    try assertLoadFails(
      config: ["peft_type": "PREFIX_TUNING"],
      mentions: ["peft_type \"PREFIX_TUNING\"", "Loom reads LORA, PROMPT_TUNING"])
    try assertLoadFails(
      config: ["peft_type": "LORA"], mentions: ["LORA adapter", "load it as one"])
    try assertLoadFails(
      config: ["token_dim": 32], mentions: ["token_dim is 32", "hidden size is 16", "another base"])
    try assertLoadFails(
      config: ["num_virtual_tokens": 6],
      mentions: ["prompt_embeddings has shape [4, 16]", "[6, 16]"])
    try assertLoadFails(
      config: [:], tensors: ["embedding.weight": Tensor.zeros([4, 16])],
      mentions: ["no tensor \"prompt_embeddings\"", "embedding.weight"])
    try assertLoadFails(config: ["num_virtual_tokens": 0], mentions: ["num_virtual_tokens is 0"])
    try assertLoadFails(
      config: ["task_type": "SEQ_CLS"], mentions: ["task_type is SEQ_CLS", "CAUSAL_LM"])
    try assertLoadFails(
      config: ["prompt_tuning_init": "ZEROS"], mentions: ["prompt_tuning_init \"ZEROS\""])
  }

  func testBadInitialisationsFailWithClearErrors() throws {
    let text = PromptTuningConfig(numVirtualTokens: 4, promptTuningInit: .text)
    XCTAssertThrowsError(try PromptTuningCausalLM(base: try base(), config: text)) {
      XCTAssertTrue("\($0)".contains("prompt_tuning_init_text is null"), "\($0)")
    }
    var withText = text
    withText.promptTuningInitText = "hello"
    XCTAssertThrowsError(try PromptTuningCausalLM(base: try base(), config: withText)) {
      XCTAssertTrue("\($0)".contains("a tokenizer is needed"), "\($0)")
    }
    XCTAssertThrowsError(
      try PromptTuningCausalLM(base: try base(), config: withText, tokenize: { _ in [] })
    ) {
      XCTAssertTrue("\($0)".contains("gives no tokens"), "\($0)")
    }
    XCTAssertThrowsError(
      try PromptTuningCausalLM(base: try base(), config: withText, tokenize: { _ in [5, 4000] })
    ) {
      XCTAssertTrue("\($0)".contains("token id 4000, outside the base model's vocabulary"), "\($0)")
    }
  }

  /// RANDOM init is N(0, 1) like torch.nn.Embedding; SAMPLE_VOCAB copies rows of the word embeddings.
  func testRandomAndSampleVocabInitialisation() throws {
    let b = try base()
    let random = try PromptTuningCausalLM(
      base: b, config: PromptTuningConfig(numVirtualTokens: 64), generator: Generator(seed: 5))
    let values = random.prompt.embedding.weight.toArray(Double.self)
    XCTAssertEqual(values.count, 64 * 16)
    let mean = values.reduce(0, +) / Double(values.count)
    let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count))
      .squareRoot()
    XCTAssertEqual(mean, 0, accuracy: 0.1)
    XCTAssertEqual(std, 1, accuracy: 0.1)
    let sampled = try PromptTuningCausalLM(
      base: try base(),
      config: PromptTuningConfig(numVirtualTokens: 3, promptTuningInit: .sampleVocab))
    let table = b.transformer.wte.weight
    let rows = (0..<table.shape[0]).map { table[$0].toArray(Float.self) }
    for r in 0..<3 {
      XCTAssertTrue(
        rows.contains(sampled.prompt.embedding.weight[r].toArray(Float.self)),
        "row \(r) is a word's embedding")
    }
  }
}
