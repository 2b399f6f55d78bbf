import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

/// `--prompt-tuning-virtual-tokens N` on `loom train classify` with a GPT-2 base, `loom train
/// token-classify` and `loom train qa`: PEFT's files (task_type, `prompt_embeddings` and the head
/// PEFT saves), only the prompt and the head train, and the inference commands run the adapter.
extension PeftTrainCLITests {
  /// The prompt-tuning adapter in `out`: PEFT's config for `task` and exactly `tensors` (name →
  /// shape), whose sizes are what the run printed as trainable; no model is written.
  @discardableResult
  func checkPromptAdapter(
    _ out: String, stdout: String, task: String, base: String, tensors expected: [String: [Int]],
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> [String: Tensor] {
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: out + "/model.safetensors"), "an adapter run writes no model",
      file: file, line: line)
    let config = try json(out + "/adapter_config.json")
    XCTAssertEqual(config["peft_type"] as? String, "PROMPT_TUNING", file: file, line: line)
    XCTAssertEqual(config["task_type"] as? String, task, file: file, line: line)
    XCTAssertEqual(config["base_model_name_or_path"] as? String, base, file: file, line: line)
    XCTAssertEqual(config["num_transformer_submodules"] as? Int, 1, file: file, line: line)
    let tensors = try SafeTensors.load(out + "/adapter_model.safetensors")
    XCTAssertEqual(tensors.mapValues(\.shape), expected, file: file, line: line)
    let counts = try XCTUnwrap(trainableLine(stdout), stdout, file: file, line: line)
    XCTAssertEqual(counts.0, expected.values.reduce(0) { $0 + $1.reduce(1, *) }, file: file, line: line)
    return tensors
  }

  func testTrainClassifyWithPromptTuningOnAGPT2Base() throws {
    // The prompt-tuning fixture's GPT-2 (pad_token_id 0, hidden 16) becomes GPT2ForSequenceClassification.
    let base = PromptTuningParityTests.baseDir
    let out = dir + "/pt-gpt2"
    var args = classifyArgs(
      out, ["--max-steps", "3", "--save-strategy", "no", "--prompt-tuning-virtual-tokens", "3"])
    args.removeSubrange(args.firstIndex(of: "--lora-r")!..<args.firstIndex(of: "--output-dir")!)
    args[args.firstIndex(of: "--model")! + 1] = base
    let r = try loom(args)
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains("GPT2ForSequenceClassification"), r.out)
    try checkPromptAdapter(
      out, stdout: r.out, task: "SEQ_CLS", base: base,
      tensors: ["prompt_embeddings": [3, 16], "base_model.score.weight": [2, 16]])
    let c = try loom([
      "classify", "--model", base, "--adapter", out, "--text", "the story was great", "--all-labels",
    ])
    XCTAssertEqual(c.status, 0, c.err)
    let rows = c.out.split(separator: "\n").map {
      try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    XCTAssertEqual(Set(rows.map { $0["label"] as! String }), ["neg", "pos"], c.out)
    XCTAssertEqual(rows.map { $0["score"] as! Double }.reduce(0, +), 1, accuracy: 1e-5)
  }

  func testTrainTokenClassifyAndQAWithPromptTuning() throws {
    let baseBytes = try Data(contentsOf: URL(fileURLWithPath: Self.roberta + "/model.safetensors"))
    let tag = dir + "/pt-tag"
    let t = try loom([
      "train", "token-classify", "--model", Self.roberta, "--data", Self.encoderCLI + "/ner.jsonl", "--max-steps", "3",
      "--batch-size", "4", "--learning-rate", "1e-2", "--eval-strategy", "no", "--save-strategy", "no",
      "--prompt-tuning-virtual-tokens", "4", "--output-dir", tag,
    ])
    XCTAssertEqual(t.status, 0, t.err)
    XCTAssertTrue(t.out.contains("adapter saved to"), t.out)
    // Three tags (B-LOC, B-PER, O): RoBERTa's token head is one Linear.
    let tensors = try checkPromptAdapter(
      tag, stdout: t.out, task: "TOKEN_CLS", base: Self.roberta,
      tensors: [
        "prompt_embeddings": [4, 32], "base_model.classifier.weight": [3, 32], "base_model.classifier.bias": [3],
      ])
    XCTAssertEqual(
      (try json(tag + "/adapter_config.json")["modules_to_save"] as? [String]), ["classifier", "score"])
    XCTAssertNotNil(try json(tag + "/config.json")["id2label"], "the tags travel with the adapter")
    XCTAssertTrue(tensors["prompt_embeddings"]!.floats.allSatisfy(\.isFinite))
    let tagged = try loom([
      "token-classify", "--model", Self.roberta, "--adapter", tag, "--text", "john lives in paris .",
    ])
    XCTAssertEqual(tagged.status, 0, tagged.err)
    // Entries not tagged O, each with one of the run's tags (the head the adapter saved).
    for row in tagged.out.split(separator: "\n") {
      let entry = try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any]
      XCTAssertTrue(["B-LOC", "B-PER"].contains(entry?["entity"] as? String ?? ""), tagged.out)
    }

    let qa = dir + "/pt-qa"
    let q = try loom([
      "train", "qa", "--model", Self.roberta, "--data", Self.encoderCLI + "/squad.json", "--max-steps", "3",
      "--batch-size", "4", "--learning-rate", "1e-2", "--max-seq-length", "48", "--doc-stride", "8",
      "--eval-strategy", "no", "--save-strategy", "no", "--prompt-tuning-virtual-tokens", "4", "--output-dir", qa,
    ])
    XCTAssertEqual(q.status, 0, q.err)
    try checkPromptAdapter(
      qa, stdout: q.out, task: "QUESTION_ANS", base: Self.roberta,
      tensors: [
        "prompt_embeddings": [4, 32], "base_model.qa_outputs.weight": [2, 32], "base_model.qa_outputs.bias": [2],
      ])
    XCTAssertEqual((try json(qa + "/adapter_config.json")["modules_to_save"] as? [String]), ["qa_outputs"])
    let answer = try loom([
      "qa", "--model", Self.roberta, "--adapter", qa, "--question", "who?", "--context", "the cat sat on the mat",
    ])
    XCTAssertEqual(answer.status, 0, answer.err)
    let object = try JSONSerialization.jsonObject(with: Data(answer.out.utf8)) as? [String: Any]
    let span = try XCTUnwrap(object?["answer"] as? String, answer.out)
    XCTAssertTrue("the cat sat on the mat".contains(span), "the answer is a span of the context: \(answer.out)")
    // The base stays as it was.
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: Self.roberta + "/model.safetensors")), baseBytes)
  }

  /// `loom generate --model D --adapter A` on the prompt-tuned tiny Llama and BLOOM: the greedy ids
  /// PEFT's generate gave (a 40-character vocabulary maps ids to text one to one).
  func testGenerateWithAPromptTuningAdapterOnLlamaAndBloomMatchesPEFT() throws {
    let chars = Array("abcdefghijklmnopqrstuvwxyz0123456789ABCD").map { String($0) }
    let root = PromptTuningMoreParityTests.root
    for (name, g) in try PromptTuningMoreParityTests.peftGeneration() {
      let base = dir + "/" + name
      try FileManager.default.copyItem(atPath: root + "/" + name + "/base", toPath: base)
      try JSONEncoder().encode(chars).write(to: URL(fileURLWithPath: base + "/char_vocab.json"))
      let prompt = g.prompts[0].map { chars[$0] }.joined()
      let r = try loom([
        "generate", "--model", base, "--adapter", root + "/" + name + "/adapter", "--prompt", prompt,
        "--max-new-tokens", "8", "--no-do-sample",
      ])
      XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
      let new = g.greedy.dropFirst(g.prompts[0].count)
      let untilEos = new.prefix { $0 != g.eos_token_id }
      let expected = prompt + untilEos.map { chars[$0] }.joined()
      let text = r.out.trimmingCharacters(in: .newlines)
      // A character vocabulary has no end-of-text token: without generation_config.json's eos the
      // CLI goes on past PEFT's stop, so the ids agree up to it.
      if untilEos.count == new.count { XCTAssertEqual(text, expected, name) }
      XCTAssertTrue(text.hasPrefix(expected), "\(name): \(text) vs PEFT's \(expected)")
    }
  }
}
