import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomTestSupport
import XCTest

/// `loom train … --lora-r R`: every fine-tuning command writes a PEFT adapter (not the
/// model), trains only the adapter (the base's weights stay as they were), resumes from
/// its checkpoints, and --merge-adapter writes a full model that answers as base + adapter.
/// The tiny models are LoomModelsTests' fixtures.
final class PeftTrainCLITests: XCTestCase {
  static let modelFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("LoomModelsTests/Fixtures").path
  static let encoderCLI = modelFixtures + "/encoder-cli"
  static let roberta = encoderCLI + "/roberta-tiny"
  static let bart = modelFixtures + "/bart-tiny-text"
  var dir: String!

  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-peft-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  /// A random character-level GPT-2 saved with its char_vocab.json.
  func charModel(_ path: String) throws {
    let chars = Array("abcdefgh ,.\n")
    let m = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: chars.count, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil, eosTokenId: nil),
      generator: Generator(seed: 4))
    try m.save(to: path)
    try JSONEncoder().encode(chars.map { String($0) }).write(to: URL(fileURLWithPath: path + "/char_vocab.json"))
  }

  func json(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
  }

  /// PEFT's trainable-parameters line from stdout: (trainable, all).
  func trainableLine(_ out: String) -> (Int, Int)? {
    guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("trainable params: ") }) else { return nil }
    let numbers = line.split(separator: "|").compactMap { part in
      Int(part.split(separator: ":").last!.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ""))
    }
    return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
  }

  /// The output directory holds PEFT's adapter files (and no model); the adapter's tensors
  /// are exactly the trainable parameters the run printed; `lora_B` has trained away from 0.
  @discardableResult
  func checkAdapter(
    _ out: String, stdout: String, task: String?, base: String, keys: [String], file: StaticString = #filePath,
    line: UInt = #line
  ) throws -> [String: Tensor] {
    let fm = FileManager.default
    XCTAssertTrue(fm.fileExists(atPath: out + "/adapter_config.json"), file: file, line: line)
    XCTAssertFalse(fm.fileExists(atPath: out + "/model.safetensors"), "an adapter run writes no model", file: file, line: line)
    let config = try json(out + "/adapter_config.json")
    XCTAssertEqual(config["peft_type"] as? String, "LORA", file: file, line: line)
    XCTAssertEqual(config["task_type"] as? String, task, file: file, line: line)
    XCTAssertEqual(config["r"] as? Int, 2, file: file, line: line)
    XCTAssertEqual(config["base_model_name_or_path"] as? String, base, file: file, line: line)
    let tensors = try SafeTensors.load(out + "/adapter_model.safetensors")
    for key in keys { XCTAssertNotNil(tensors[key], "\(key) in \(tensors.keys.sorted())", file: file, line: line) }
    let counts = try XCTUnwrap(trainableLine(stdout), stdout, file: file, line: line)
    XCTAssertEqual(counts.0, tensors.values.reduce(0) { $0 + $1.count }, "trainable = the adapter's tensors", file: file, line: line)
    XCTAssertLessThan(counts.0 * 4, counts.1, file: file, line: line)
    let loraB = tensors.filter { $0.key.hasSuffix("lora_B.weight") }
    XCTAssertFalse(loraB.isEmpty, file: file, line: line)
    XCTAssertTrue(loraB.values.contains { $0.floats.contains { $0 != 0 } }, "lora_B trained", file: file, line: line)
    return tensors
  }

  func classifyArgs(_ out: String, _ extra: [String]) -> [String] {
    [
      "train", "classify", "--model", Self.roberta, "--data", Self.encoderCLI + "/classify.csv", "--text-column",
      "sentence", "--label-column", "label", "--batch-size", "4", "--learning-rate", "1e-2", "--eval-strategy", "no",
      "--lora-r", "2", "--lora-alpha", "8", "--output-dir", out,
    ] + extra
  }

  func testTrainClassifyLoRAWritesTheAdapterKeepsTheBaseResumesAndMerges() throws {
    let baseBytes = try Data(contentsOf: URL(fileURLWithPath: Self.roberta + "/model.safetensors"))
    let out = dir + "/lora"
    let r = try loom(classifyArgs(out, ["--max-steps", "3", "--save-strategy", "steps", "--save-steps", "2"]))
    XCTAssertEqual(r.status, 0, r.err)
    let prefix = "base_model.model.roberta.encoder.layer.0.attention.self."
    let adapter = try checkAdapter(
      out, stdout: r.out, task: "SEQ_CLS", base: Self.roberta,
      keys: [
        prefix + "query.lora_A.weight", prefix + "value.lora_B.weight",
        "base_model.model.classifier.out_proj.weight",
      ])
    XCTAssertNil(adapter[prefix + "key.lora_A.weight"], "RoBERTa's default targets are query and value")
    XCTAssertEqual(adapter[prefix + "query.lora_A.weight"]?.shape, [2, 32])
    let config = try json(out + "/adapter_config.json")
    XCTAssertEqual((config["modules_to_save"] as? [String])?.contains("classifier"), true, "\(config)")
    XCTAssertEqual(config["lora_alpha"] as? Double, 8)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/tokenizer.json"))
    // The base directory is untouched and the checkpoint's base tensors are the base's: frozen.
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: Self.roberta + "/model.safetensors")), baseBytes)
    let base = try SafeTensors.load(Self.roberta + "/model.safetensors")
    let checkpoint = try SafeTensors.load(out + "/checkpoint-2/model.safetensors")
    var shared = 0
    for (key, t) in base where !key.hasPrefix("lm_head") {
      guard let c = checkpoint[key] else { continue }
      shared += 1
      XCTAssertEqual(c.floats, t.floats, "\(key) changed: the base must stay frozen")
    }
    XCTAssertGreaterThan(shared, 20)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/checkpoint-2/adapter_model.safetensors"))

    // Resuming from the checkpoint ends where the uninterrupted run did.
    let resumed = try loom(classifyArgs(out, ["--max-steps", "3", "--save-strategy", "steps", "--save-steps", "2", "--resume-from-checkpoint", out + "/checkpoint-2"]))
    XCTAssertEqual(resumed.status, 0, resumed.err)
    XCTAssertTrue(resumed.err.contains("resuming from \(out)/checkpoint-2 at step 2"), resumed.err)
    let again = try SafeTensors.load(out + "/adapter_model.safetensors")
    XCTAssertEqual(Set(again.keys), Set(adapter.keys))
    for (key, t) in adapter {
      let d = zip(t.floats, again[key]!.floats).map { abs($0 - $1) }.max() ?? 0
      XCTAssertLessThanOrEqual(d, 1e-5, key)
    }

    // --merge-adapter: a full model that classifies as base + adapter does.
    let merged = dir + "/merged"
    let m = try loom(classifyArgs(merged, ["--max-steps", "3", "--save-strategy", "no", "--merge-adapter"]))
    XCTAssertEqual(m.status, 0, m.err)
    XCTAssertTrue(FileManager.default.fileExists(atPath: merged + "/model.safetensors"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: merged + "/adapter_config.json"))
    let text = ["--text", "a wonderful, moving film", "--all-labels"]
    let viaAdapter = try loom(["classify", "--model", Self.roberta, "--adapter", out] + text)
    let viaMerged = try loom(["classify", "--model", merged] + text)
    XCTAssertEqual(viaAdapter.status, 0, viaAdapter.err)
    XCTAssertEqual(viaMerged.status, 0, viaMerged.err)
    let a = viaAdapter.out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    let b = viaMerged.out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    XCTAssertEqual(a.count, 2, viaAdapter.out)
    XCTAssertEqual(a.map { $0["label"] as! String }, b.map { $0["label"] as! String })
    for (x, y) in zip(a, b) { XCTAssertEqual(x["score"] as! Double, y["score"] as! Double, accuracy: 1e-5) }
  }

  func testTrainTokenClassifyQAAndMLMWriteAdapters() throws {
    let tag = dir + "/tag"
    let t = try loom([
      "train", "token-classify", "--model", Self.roberta, "--data", Self.encoderCLI + "/ner.jsonl", "--max-steps", "2",
      "--batch-size", "4", "--learning-rate", "1e-2", "--eval-strategy", "no", "--save-strategy", "no", "--lora-r", "2",
      "--output-dir", tag,
    ])
    XCTAssertEqual(t.status, 0, t.err)
    try checkAdapter(tag, stdout: t.out, task: "TOKEN_CLS", base: Self.roberta, keys: ["base_model.model.classifier.weight"])
    XCTAssertNotNil(try json(tag + "/config.json")["id2label"], "the tags travel with the adapter")

    let qa = dir + "/qa"
    let q = try loom([
      "train", "qa", "--model", Self.roberta, "--data", Self.encoderCLI + "/squad.json", "--max-steps", "2",
      "--batch-size", "4", "--learning-rate", "1e-2", "--max-seq-length", "48", "--doc-stride", "8",
      "--eval-strategy", "no", "--save-strategy", "no", "--lora-r", "2", "--output-dir", qa,
    ])
    XCTAssertEqual(q.status, 0, q.err)
    try checkAdapter(qa, stdout: q.out, task: "QUESTION_ANS", base: Self.roberta, keys: ["base_model.model.qa_outputs.weight"])
    let answer = try loom([
      "qa", "--model", Self.roberta, "--adapter", qa, "--question", "who?", "--context", "the cat sat on the mat",
    ])
    XCTAssertEqual(answer.status, 0, answer.err)
    XCTAssertTrue(answer.out.contains("\"answer\""), answer.out)

    let mlm = dir + "/mlm"
    let l = try loom([
      "train", "mlm", "--model", Self.roberta, "--data", Self.encoderCLI + "/mlm.txt", "--max-steps", "2",
      "--batch-size", "4", "--learning-rate", "1e-2", "--max-seq-length", "32", "--validation-split", "0",
      "--save-strategy", "no", "--lora-r", "2", "--lora-target-modules", "query,key,value", "--output-dir", mlm,
    ])
    XCTAssertEqual(l.status, 0, l.err)
    try checkAdapter(
      mlm, stdout: l.out, task: nil, base: Self.roberta,
      keys: ["base_model.model.roberta.encoder.layer.1.attention.self.key.lora_B.weight"])
    let filled = try loom(["fill-mask", "--model", Self.roberta, "--adapter", mlm, "--text", "the <mask> sat"])
    XCTAssertEqual(filled.status, 0, filled.err)
  }

  func testTrainSeq2SeqAndGPTWriteAdapters() throws {
    let text = (0..<24).map { ["to be or not to be.", "that is the question!", "the slings and arrows."][$0 % 3] }
      .joined(separator: "\n")
    let data = dir + "/text.txt"
    try text.write(toFile: data, atomically: true, encoding: .utf8)
    let s2s = dir + "/s2s"
    let seq2seq = [
      "train", "seq2seq", "--model", Self.bart, "--data", data, "--max-steps", "2", "--batch-size", "4",
      "--max-source-length", "24", "--validation-split", "0", "--save-strategy", "no", "--lr", "1e-2",
      "--lora-r", "2", "--output-dir", s2s,
    ]
    // PEFT's default BART targets (q_proj, v_proj): the attention calls wrapped projections.
    let s = try loom(seq2seq)
    XCTAssertEqual(s.status, 0, s.err)
    try checkAdapter(
      s2s, stdout: s.out, task: "SEQ_2_SEQ_LM", base: Self.bart,
      keys: [
        "base_model.model.model.encoder.layers.0.self_attn.q_proj.lora_A.weight",
        "base_model.model.model.decoder.layers.0.encoder_attn.v_proj.lora_B.weight",
      ])
    let f = try loom(seq2seq + ["--lora-target-modules", "fc1,fc2", "--overwrite-output-dir"])
    XCTAssertEqual(f.status, 0, f.err)
    try checkAdapter(
      s2s, stdout: f.out, task: "SEQ_2_SEQ_LM", base: Self.bart,
      keys: ["base_model.model.model.encoder.layers.0.fc1.lora_A.weight"])

    // GPT-2 from --model: Conv1D layers (fan_in_fan_out), then generate with the adapter = merged.
    let base = dir + "/gpt-base"
    try charModel(base)
    try String(repeating: "abc defg hab. ", count: 40).write(toFile: dir + "/chars.txt", atomically: true, encoding: .utf8)
    let gpt = ["train", "gpt", "--model", base, "--data", dir + "/chars.txt", "--block-size", "8", "--max-steps", "3",
      "--lr", "1e-2", "--save-strategy", "no", "--validation-fraction", "0", "--samples", "0", "--lora-r", "2"]
    let g = try loom(gpt + ["--output-dir", dir + "/gpt-lora"])
    XCTAssertEqual(g.status, 0, g.err)
    let config = try checkAdapter(
      dir + "/gpt-lora", stdout: g.out, task: "CAUSAL_LM", base: base,
      keys: ["base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"])
    XCTAssertEqual(config["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"]?.shape, [48, 2])
    XCTAssertEqual(try json(dir + "/gpt-lora/adapter_config.json")["fan_in_fan_out"] as? Bool, true)
    let gm = try loom(gpt + ["--output-dir", dir + "/gpt-merged", "--merge-adapter"])
    XCTAssertEqual(gm.status, 0, gm.err)
    let prompt = ["generate", "--prompt", "abc", "--max-new-tokens", "12"]
    let viaAdapter = try loom(prompt + ["--model", base, "--adapter", dir + "/gpt-lora"])
    let viaMerged = try loom(prompt + ["--model", dir + "/gpt-merged"])
    XCTAssertEqual(viaAdapter.status, 0, viaAdapter.err)
    XCTAssertEqual(viaAdapter.out, viaMerged.out)
  }

  /// Bad PEFT flags fail before any data or model is read (the --data file does not exist),
  /// with the subcommand's usage.
  func testBadFlagsAreClearErrors() throws {
    let base = [
      "train", "classify", "--model", Self.roberta, "--data", dir + "/missing.csv", "--text-column", "t",
      "--label-column", "l", "--output-dir", dir + "/out",
    ]
    let cases: [([String], String)] = [
      (["--lora-r", "0"], "--lora-r must be a positive integer, got 0"),
      (["--lora-alpha", "16"], "--lora-alpha sets up a LoRA adapter: pass --lora-r R"),
      (["--modules-to-save", "classifier"], "--modules-to-save sets up a LoRA adapter"),
      (["--lora-r", "4", "--lora-alpha", "0"], "--lora-alpha must be > 0"),
      (["--lora-r", "4", "--lora-dropout", "1"], "--lora-dropout must be in [0, 1), got 1.0"),
      (["--lora-r", "4", "--lora-bias", "some"], "--lora-bias must be none, all or lora_only, got 'some'"),
      (["--lora-r", "4", "--lora-target-modules", "query,,value"], "--lora-target-modules takes comma-separated"),
      (["--lora-r", "4", "--prompt-tuning-virtual-tokens", "8"], "pass one of them"),
      (["--prompt-tuning-init-text", "Classify"], "needs --prompt-tuning-virtual-tokens N"),
      (["--prompt-tuning-virtual-tokens", "0"], "--prompt-tuning-virtual-tokens must be a positive integer"),
      (["--merge-adapter"], "--merge-adapter merges a LoRA adapter into the model: pass --lora-r R"),
    ]
    for (flags, message) in cases {
      let r = try loom(base + flags)
      XCTAssertNotEqual(r.status, 0, "\(flags)")
      XCTAssertTrue(r.err.contains(message), "\(flags): \(r.err)")
      XCTAssertTrue(r.err.contains("Usage: loom train classify"), "\(flags): \(r.err)")
      XCTAssertFalse(r.err.contains("missing.csv"), "\(flags) is checked before the data: \(r.err)")
    }
    // Without --model there is nothing to adapt.
    let scratch = try loom([
      "train", "gpt", "--char", "--data", dir + "/missing.txt", "--output-dir", dir + "/g", "--lora-r", "4",
    ])
    XCTAssertNotEqual(scratch.status, 0)
    XCTAssertTrue(scratch.err.contains("adapt a pretrained model: pass --model DIR to loom train gpt"), scratch.err)
    // Target modules that match nothing: the library's error, before training writes anything.
    let none = try loom(
      classifyArgs(dir + "/none", ["--max-steps", "1", "--lora-target-modules", "c_attn"]))
    XCTAssertNotEqual(none.status, 0)
    XCTAssertTrue(none.err.contains("match no layer"), none.err)
    XCTAssertTrue(none.err.contains("query"), "names the layers there are: \(none.err)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/none/adapter_config.json"))
  }

  /// `loom train gpt --prompt-tuning-virtual-tokens N --prompt-tuning-init-text T`: PEFT's prompt
  /// tuning on the frozen base; the output is PEFT's prompt adapter, which `loom generate
  /// --adapter` puts in front of the prompt.
  func testTrainGPTWithPromptTuningWritesPeftsPromptAdapter() throws {
    let base = dir + "/pt-base"
    try charModel(base)
    try String(repeating: "abc defg hab. ", count: 40).write(
      toFile: dir + "/pt.txt", atomically: true, encoding: .utf8)
    let out = dir + "/pt-out"
    let r = try loom([
      "train", "gpt", "--model", base, "--data", dir + "/pt.txt", "--block-size", "8", "--max-steps", "3",
      "--lr", "1e-1", "--save-strategy", "no", "--validation-fraction", "0", "--samples", "1",
      "--prompt-tuning-virtual-tokens", "4", "--prompt-tuning-init-text", "abc", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains("repeated"), r.out)  // 3 text tokens fill 4 virtual tokens
    let counts = try XCTUnwrap(trainableLine(r.out), r.out)
    XCTAssertEqual(counts.0, 4 * 16)
    let config = try json(out + "/adapter_config.json")
    XCTAssertEqual(config["peft_type"] as? String, "PROMPT_TUNING")
    XCTAssertEqual(config["task_type"] as? String, "CAUSAL_LM")
    XCTAssertEqual(config["num_virtual_tokens"] as? Int, 4)
    XCTAssertEqual(config["prompt_tuning_init"] as? String, "TEXT")
    XCTAssertEqual(config["token_dim"] as? Int, 16)
    XCTAssertEqual(config["base_model_name_or_path"] as? String, base)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
    let tensors = try SafeTensors.load(out + "/adapter_model.safetensors")
    XCTAssertEqual(Array(tensors.keys), ["prompt_embeddings"])
    let prompt = try XCTUnwrap(tensors["prompt_embeddings"])
    XCTAssertEqual(prompt.shape, [4, 16])
    // Initialised from the text's word embeddings (a, b, c, a), then trained away from them.
    let wte = try SafeTensors.load(base + "/model.safetensors")["transformer.wte.weight"]!
    let initial = Tensor.cat([wte[0 ..< 3], wte[0 ..< 1]], dim: 0)
    let moved = zip(prompt.floats, initial.floats).map { abs($0 - $1) }.max()!
    XCTAssertGreaterThan(moved, 1e-3)
    XCTAssertLessThan(moved, 1)

    let g = try loom([
      "generate", "--model", base, "--adapter", out, "--prompt", "ab", "--max-new-tokens", "4",
      "--no-do-sample",
    ])
    XCTAssertEqual(g.status, 0, g.err)
    XCTAssertTrue(g.out.hasPrefix("ab"), g.out)
    // MLM is pretraining: prompt tuning refuses it before training, naming the commands that take it.
    let c = try loom([
      "train", "mlm", "--model", Self.roberta, "--data", Self.encoderCLI + "/mlm.txt", "--max-steps", "1",
      "--prompt-tuning-virtual-tokens", "4", "--output-dir", dir + "/pt-mlm",
    ])
    XCTAssertNotEqual(c.status, 0)
    XCTAssertTrue(c.err.contains("loom train classify / token-classify / qa"), c.err)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/pt-mlm/adapter_config.json"))
  }
}
