import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

/// `loom train classify --prompt-tuning-virtual-tokens N`: PEFT's SEQ_CLS prompt tuning writes
/// PEFT's adapter (prompt + classifier head), keeps the base frozen, and `loom classify
/// --adapter` classifies with it.
extension PeftTrainCLITests {
  func testTrainClassifyWithPromptTuningWritesPeftsAdapterAndClassifies() throws {
    let out = dir + "/pt-cls"
    var args = classifyArgs(
      out,
      [
        "--max-steps", "3", "--save-strategy", "steps", "--save-steps", "2",
        "--prompt-tuning-virtual-tokens", "4", "--prompt-tuning-init-text", "the movie",
      ])
    args.removeSubrange(args.firstIndex(of: "--lora-r")!..<args.firstIndex(of: "--output-dir")!)
    let r = try loom(args)
    XCTAssertEqual(r.status, 0, r.err)
    let config = try json(out + "/adapter_config.json")
    XCTAssertEqual(config["peft_type"] as? String, "PROMPT_TUNING")
    XCTAssertEqual(config["task_type"] as? String, "SEQ_CLS")
    XCTAssertEqual(config["num_virtual_tokens"] as? Int, 4)
    XCTAssertEqual(config["prompt_tuning_init"] as? String, "TEXT")
    XCTAssertEqual(config["prompt_tuning_init_text"] as? String, "the movie")
    XCTAssertEqual(config["modules_to_save"] as? [String], ["classifier", "score"])
    XCTAssertEqual(config["base_model_name_or_path"] as? String, Self.roberta)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
    XCTAssertNotNil(
      try json(out + "/config.json")["id2label"], "the labels travel with the adapter")
    let tensors = try SafeTensors.load(out + "/adapter_model.safetensors")
    XCTAssertEqual(
      Set(tensors.keys),
      [
        "prompt_embeddings", "base_model.classifier.dense.weight",
        "base_model.classifier.dense.bias",
        "base_model.classifier.out_proj.weight", "base_model.classifier.out_proj.bias",
      ])
    XCTAssertEqual(tensors["prompt_embeddings"]?.shape, [4, 32])
    XCTAssertEqual(tensors["base_model.classifier.out_proj.weight"]?.shape, [2, 32], "two labels")
    let counts = try XCTUnwrap(trainableLine(r.out), r.out)
    XCTAssertEqual(
      counts.0, tensors.values.reduce(0) { $0 + $1.count }, "trainable = the adapter's tensors")
    // The trunk stays as the base had it; the prompt moved away from the text's embeddings.
    let base = try SafeTensors.load(Self.roberta + "/model.safetensors")
    let checkpoint = try SafeTensors.load(out + "/checkpoint-2/model.safetensors")
    var shared = 0
    for (key, t) in base where key.hasPrefix("roberta.") {
      guard let c = checkpoint["base_model." + key] else { continue }
      shared += 1
      XCTAssertEqual(c.floats, t.floats, "\(key) changed: the base must stay frozen")
    }
    XCTAssertGreaterThan(shared, 20)
    XCTAssertTrue(
      FileManager.default.fileExists(atPath: out + "/checkpoint-2/adapter_model.safetensors"))

    let c = try loom([
      "classify", "--model", Self.roberta, "--adapter", out, "--text", "a wonderful, moving film",
      "--all-labels",
    ])
    XCTAssertEqual(c.status, 0, c.err)
    let rows = c.out.split(separator: "\n").map {
      try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    XCTAssertEqual(Set(rows.map { $0["label"] as! String }), ["neg", "pos"], c.out)
    XCTAssertEqual(rows.map { $0["score"] as! Double }.reduce(0, +), 1, accuracy: 1e-5)
    let withoutAdapter = try loom([
      "classify", "--model", Self.roberta, "--text", "a wonderful, moving film", "--all-labels",
    ])
    XCTAssertNotEqual(withoutAdapter.out, c.out, "the adapter changes the answer")

    // Commands prompt tuning does not serve (masked-LM pretraining here) say so before training.
    let mlm = try loom([
      "train", "mlm", "--model", Self.roberta, "--data", Self.encoderCLI + "/mlm.txt", "--max-steps", "1",
      "--prompt-tuning-virtual-tokens", "4", "--output-dir", dir + "/pt-mlm",
    ])
    XCTAssertNotEqual(mlm.status, 0)
    XCTAssertTrue(mlm.err.contains("loom train classify / token-classify / qa"), mlm.err)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/pt-mlm/adapter_config.json"))
  }
}
