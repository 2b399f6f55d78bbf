import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

/// `loom train classify --model <GPT-2 dir>`: GPT2ForSequenceClassification from a causal-LM
/// checkpoint, fully or with LoRA (PEFT's c_attn target, `score` saved with the adapter), and
/// `loom classify` on the results.
extension PeftTrainCLITests {
  func testTrainClassifyOnGPT2FullAndLoRA() throws {
    // The prompt-tuning fixture's GPT-2 without its pad_token_id: eos (0) pads, noted.
    let base = dir + "/gpt2-base"
    try FileManager.default.copyItem(atPath: PromptTuningParityTests.baseDir, toPath: base)
    var config = try json(base + "/config.json")
    config["pad_token_id"] = nil
    try JSONSerialization.data(withJSONObject: config).write(
      to: URL(fileURLWithPath: base + "/config.json"))
    var args = classifyArgs(dir + "/gpt2-lora", ["--max-steps", "3", "--save-strategy", "no"])
    args[args.firstIndex(of: "--model")! + 1] = base
    let r = try loom(args)
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(
      r.err.contains("has no pad_token_id: batches pad with token 0 (eos_token_id)"), r.err)
    XCTAssertTrue(r.out.contains("GPT2ForSequenceClassification"), r.out)
    let tensors = try checkAdapter(
      dir + "/gpt2-lora", stdout: r.out, task: "SEQ_CLS", base: base,
      keys: [
        "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight",
        "base_model.model.score.weight",
      ])
    XCTAssertEqual(tensors["base_model.model.score.weight"]?.shape, [2, 16], "two labels, no bias")
    XCTAssertEqual(
      try json(dir + "/gpt2-lora/adapter_config.json")["fan_in_fan_out"] as? Bool, true)
    XCTAssertEqual(try json(dir + "/gpt2-lora/config.json")["pad_token_id"] as? Int, 0)
    let text = ["--text", "the story was great", "--all-labels"]
    let c = try loom(["classify", "--model", base, "--adapter", dir + "/gpt2-lora"] + text)
    XCTAssertEqual(c.status, 0, c.err)
    let rows = c.out.split(separator: "\n").map {
      try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    XCTAssertEqual(Set(rows.map { $0["label"] as! String }), ["neg", "pos"], c.out)

    // Full fine-tuning writes a GPT2ForSequenceClassification that `loom classify` loads.
    var full = classifyArgs(dir + "/gpt2-full", ["--max-steps", "2", "--save-strategy", "no"])
    full.removeSubrange(full.firstIndex(of: "--lora-r")!..<full.firstIndex(of: "--output-dir")!)
    full[full.firstIndex(of: "--model")! + 1] = base
    let f = try loom(full)
    XCTAssertEqual(f.status, 0, f.err)
    let saved = try json(dir + "/gpt2-full/config.json")
    XCTAssertEqual(saved["architectures"] as? [String], ["GPT2ForSequenceClassification"])
    XCTAssertEqual(saved["pad_token_id"] as? Int, 0)
    XCTAssertEqual((saved["id2label"] as? [String: String])?.values.sorted(), ["neg", "pos"])
    let weights = try SafeTensors.load(dir + "/gpt2-full/model.safetensors")
    XCTAssertNotNil(weights["score.weight"])
    XCTAssertNil(weights["lm_head.weight"])
    let g = try loom(["classify", "--model", dir + "/gpt2-full"] + text)
    XCTAssertEqual(g.status, 0, g.err)
    XCTAssertEqual(g.out.split(separator: "\n").count, 2, g.out)
  }
}
