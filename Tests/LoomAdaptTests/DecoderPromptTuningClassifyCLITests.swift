import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

/// `loom train classify --prompt-tuning-virtual-tokens N` on causal-LM checkpoints: Llama and
/// BLOOM become their sequence classifiers (fresh `score`), PEFT's SEQ_CLS prompt tuning trains
/// the prompt and `score` only, and `loom classify --adapter` runs the result; LoRA on BLOOM
/// takes PEFT's query_key_value target.
extension PeftTrainCLITests {
  func testTrainClassifyWithPromptTuningOnLlamaAndBloomBases() throws {
    for (name, hidden) in [("llama-tiny", 8), ("bloom-tiny", 12)] {
      let base = Self.modelFixtures + "/" + name
      let out = dir + "/pt-" + name
      var args = classifyArgs(
        out, ["--max-steps", "3", "--save-strategy", "no", "--prompt-tuning-virtual-tokens", "3"])
      args.removeSubrange(args.firstIndex(of: "--lora-r")!..<args.firstIndex(of: "--output-dir")!)
      args[args.firstIndex(of: "--model")! + 1] = base
      let r = try loom(args)
      XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
      let config = try json(out + "/adapter_config.json")
      XCTAssertEqual(config["peft_type"] as? String, "PROMPT_TUNING", name)
      XCTAssertEqual(config["task_type"] as? String, "SEQ_CLS", name)
      XCTAssertEqual(config["token_dim"] as? Int, hidden, name)
      XCTAssertEqual(config["base_model_name_or_path"] as? String, base, name)
      let tensors = try SafeTensors.load(out + "/adapter_model.safetensors")
      XCTAssertEqual(Set(tensors.keys), ["prompt_embeddings", "base_model.score.weight"], name)
      XCTAssertEqual(tensors["prompt_embeddings"]?.shape, [3, hidden], name)
      XCTAssertEqual(tensors["base_model.score.weight"]?.shape, [2, hidden], "\(name): two labels")
      let counts = try XCTUnwrap(trainableLine(r.out), r.out)
      XCTAssertEqual(counts.0, 3 * hidden + 2 * hidden, "\(name): the prompt and score train")

      let c = try loom([
        "classify", "--model", base, "--adapter", out, "--text", "the story was great",
        "--all-labels",
      ])
      XCTAssertEqual(c.status, 0, "\(name): \(c.err)")
      let rows = c.out.split(separator: "\n").map {
        try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
      }
      XCTAssertEqual(Set(rows.map { $0["label"] as! String }), ["neg", "pos"], c.out)
      XCTAssertEqual(rows.map { $0["score"] as! Double }.reduce(0, +), 1, accuracy: 1e-5)
    }
  }

  /// LoRA on a BLOOM checkpoint's classifier: PEFT's default target (query_key_value, written
  /// into adapter_config.json as PEFT does) and `score` saved with the adapter.
  func testTrainClassifyWithLoRAOnABloomBase() throws {
    let base = Self.modelFixtures + "/bloom-tiny"
    let out = dir + "/lora-bloom"
    var args = classifyArgs(out, ["--max-steps", "2", "--save-strategy", "no"])
    args[args.firstIndex(of: "--model")! + 1] = base
    let r = try loom(args)
    XCTAssertEqual(r.status, 0, r.err)
    let tensors = try checkAdapter(
      out, stdout: r.out, task: "SEQ_CLS", base: base,
      keys: [
        "base_model.model.transformer.h.0.self_attention.query_key_value.lora_A.weight",
        "base_model.model.transformer.h.1.self_attention.query_key_value.lora_B.weight",
        "base_model.model.score.weight",
      ])
    XCTAssertEqual(tensors.count, 5, "two layers' A and B, and score: \(tensors.keys.sorted())")
    XCTAssertEqual(tensors["base_model.model.score.weight"]?.shape, [2, 12], "two labels, no bias")
    let config = try json(out + "/adapter_config.json")
    XCTAssertEqual(config["target_modules"] as? [String], ["query_key_value"])
    XCTAssertEqual(config["modules_to_save"] as? [String], ["classifier", "score"])
  }
}
