import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

/// `loom train seq2seq --prompt-tuning-virtual-tokens N` writes PEFT's SEQ_2_SEQ_LM adapter and keeps
/// the base frozen; `loom generate --adapter` reads it and LoRA adapters on encoder–decoder models.
extension PeftTrainCLITests {
  func testTrainSeq2SeqWithPromptTuningAndGenerateWithAdapters() throws {
    let text = (0..<24).map { ["to be or not to be.", "that is the question!", "the slings and arrows."][$0 % 3] }
      .joined(separator: "\n")
    let data = dir + "/s2s-text.txt"
    try text.write(toFile: data, atomically: true, encoding: .utf8)
    let common = [
      "train", "seq2seq", "--model", Self.bart, "--data", data, "--max-steps", "2", "--batch-size", "4",
      "--max-source-length", "24", "--validation-split", "0", "--save-strategy", "no", "--lr", "1e-1",
    ]
    let pt = dir + "/s2s-pt"
    let r = try loom(common + ["--prompt-tuning-virtual-tokens", "4", "--output-dir", pt])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains("trainable params: "), r.out)
    let config = try json(pt + "/adapter_config.json")
    XCTAssertEqual(config["peft_type"] as? String, "PROMPT_TUNING")
    XCTAssertEqual(config["task_type"] as? String, "SEQ_2_SEQ_LM")
    XCTAssertEqual(config["num_transformer_submodules"] as? Int, 2)
    XCTAssertEqual(config["base_model_name_or_path"] as? String, Self.bart)
    let baseWidth = try XCTUnwrap(try json(Self.bart + "/config.json")["d_model"] as? Int)
    let prompt = try XCTUnwrap(try SafeTensors.load(pt + "/adapter_model.safetensors")["prompt_embeddings"])
    XCTAssertEqual(prompt.shape, [8, baseWidth])
    XCTAssertFalse(FileManager.default.fileExists(atPath: pt + "/model.safetensors"), "only the adapter is written")

    let ask = ["generate", "--model", Self.bart, "--prompt", "to be or not", "--max-new-tokens", "6"]
    let plain = try loom(ask)
    XCTAssertEqual(plain.status, 0, plain.err)
    let withPrompt = try loom(ask + ["--adapter", pt])
    XCTAssertEqual(withPrompt.status, 0, withPrompt.err)

    // LoRA on the same base: generating with --adapter equals the merged model's output.
    let lora = try loom(common + ["--lora-r", "2", "--output-dir", dir + "/s2s-lora"])
    XCTAssertEqual(lora.status, 0, lora.err)
    let merged = try loom(common + ["--lora-r", "2", "--merge-adapter", "--output-dir", dir + "/s2s-merged"])
    XCTAssertEqual(merged.status, 0, merged.err)
    let viaAdapter = try loom(ask + ["--adapter", dir + "/s2s-lora"])
    let viaMerged = try loom(["generate", "--model", dir + "/s2s-merged", "--prompt", "to be or not", "--max-new-tokens", "6"])
    XCTAssertEqual(viaAdapter.status, 0, viaAdapter.err)
    XCTAssertEqual(viaAdapter.out, viaMerged.out)

    // A prompt-tuning adapter made for a causal LM names the task it was made for.
    let wrong = try loom(ask + ["--adapter", PromptTuningParityTests.fixtures + "/prompt-random"])
    XCTAssertNotEqual(wrong.status, 0)
    XCTAssertTrue(wrong.err.contains("task_type is CAUSAL_LM"), wrong.err)
  }
}
