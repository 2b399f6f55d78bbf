import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTestSupport
import XCTest

/// A GPT-2 quantized by `Module.quantize(BitsAndBytesConfig)` (int8, NF4, FP4 with double quantization):
/// logits close to the float model's, greedy text with the KV cache, layers that cannot be quantized
/// kept in float and reported, and `loom generate --load-in-8bit / --load-in-4bit`.
final class QuantizedGenerationTests: XCTestCase {
  /// A random GPT-2 with 64-wide layers (every Linear / Conv1D quantizable) and peaked logits
  /// (init std 0.2), so greedy choices are not near-ties. Such weights amplify errors more than trained ones
  /// (measured: logits max error 1.6 % of the largest logit for int8, 21 % NF4, 36 % FP4 with double quant);
  /// the held-out perplexity of a trained model (loom-bench quant) is the accuracy figure.
  func model(seed: UInt64 = 11) throws -> GPT2LMHeadModel {
    manualSeed(seed)
    let m = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: 40, nPositions: 32, nEmbd: 64, nLayer: 2, nHead: 4, initializerRange: 0.2, bosTokenId: nil,
        eosTokenId: nil))
    m.eval()
    return m
  }

  func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    let x = a.toArray(Float.self), y = b.toArray(Float.self)
    return zip(x, y).map { abs($0 - $1) }.max()! / y.map(abs).max()!
  }

  func greedy(_ m: GPT2LMHeadModel, _ prompt: [Int], _ n: Int) throws -> [Int] {
    var g = GenerationConfig()
    g.maxNewTokens = n
    return try Generation.generate(m, prompts: [prompt], config: g)[0]
  }

  func testQuantizedLogitsAndGreedyTextStayCloseToFloat() throws {
    let ids = Tensor([Int64]([3, 17, 5, 29, 8, 1, 22, 14]), shape: [1, 8])
    let reference = try model()
    let logits = reference(ids)
    let text = try greedy(reference, [3, 17, 5], 20)
    // (config, logits tolerance relative to the largest logit, greedy tokens that must agree)
    let cases: [(BitsAndBytesConfig, Float, Int)] = [
      (BitsAndBytesConfig(loadIn8bit: true), 0.025, 14),
      (BitsAndBytesConfig(loadIn4bit: true, bnb4bitQuantType: .nf4), 0.25, 4),
      (BitsAndBytesConfig(loadIn4bit: true, bnb4bitQuantType: .fp4, bnb4bitUseDoubleQuant: true), 0.45, 4),
    ]
    for (config, tolerance, agree) in cases {
      let m = try model()
      let report = try m.quantize(config)
      XCTAssertEqual(report.quantized.count, 8, "\(report.summary)")  // c_attn, c_proj, c_fc, mlp.c_proj × 2
      XCTAssertTrue(report.keptInFloat.isEmpty, report.summary)
      XCTAssertLessThan(report.quantizedBytes * (config.loadIn8bit ? 3 : 6), report.floatBytes)
      let err = relativeError(m(ids), logits)
      print("quantized \(config.format!): logits max relative error \(err)")
      XCTAssertLessThan(err, tolerance, "\(config.format!)")
      XCTAssertGreaterThan(err, 0)
      let out = try greedy(m, [3, 17, 5], 20)
      XCTAssertEqual(Array(out.prefix(agree)), Array(text.prefix(agree)), "\(config.format!)")
    }
  }

  func testLayersThatCannotBeQuantizedStayFloatAndAreReported() throws {
    manualSeed(2)
    let m = try GPT2LMHeadModel(
      GPT2Config(vocabSize: 40, nPositions: 16, nEmbd: 32, nLayer: 1, nHead: 2, bosTokenId: nil, eosTokenId: nil))
    let report = try m.quantize(BitsAndBytesConfig(loadIn4bit: true))
    // Only the MLP's c_proj (in_features 128) tiles into 64-wide blocks.
    XCTAssertEqual(report.quantized, ["transformer.h.0.mlp.c_proj"])
    XCTAssertEqual(
      report.keptInFloat.map(\.path),
      ["transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_fc"])
    XCTAssertEqual(report.keptInFloat[0].reason, "in_features 32 is not a multiple of 64")
    XCTAssertTrue(report.summary.contains("kept in float: transformer.h.0.attn.c_attn (in_features 32"))
    XCTAssertTrue(m.transformer.h[0].attn.c_attn is QuantizedConv1D == false)
    XCTAssertThrowsError(try m.quantize(BitsAndBytesConfig())) { error in
      XCTAssertTrue("\(error)".contains("loadIn8bit or loadIn4bit"), "\(error)")
    }
  }

  func testGenerateCommandLoadsQuantized() throws {
    let dir = NSTemporaryDirectory() + "loom-quant-cli-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let codec = TextCodec.chars(CharTokenizer(corpus: "abcdefgh ,.\n"))
    manualSeed(4)
    let m = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: codec.vocabSize, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil,
        eosTokenId: nil))
    try m.save(to: dir)
    try codec.save(to: dir, source: nil)
    let args = ["generate", "--model", dir, "--prompt", "ab", "--max-new-tokens", "8"]
    let plain = try loom(args)
    XCTAssertEqual(plain.status, 0, plain.err)
    let int8 = try loom(args + ["--load-in-8bit"])
    XCTAssertEqual(int8.status, 0, int8.err)
    XCTAssertTrue(int8.err.contains("quantized 4 layers to int8"), int8.err)
    XCTAssertEqual(int8.out.count, plain.out.count)
    // 16-wide layers cannot hold 64-weight blocks: only the MLP's c_proj (in_features 64) is quantized.
    let nf4 = try loom(args + ["--load-in-4bit", "--bnb-4bit-use-double-quant"])
    XCTAssertEqual(nf4.status, 0, nf4.err)
    XCTAssertTrue(nf4.err.contains("quantized 1 layers to nf4 (block 64, double quant)"), nf4.err)
    XCTAssertTrue(nf4.err.contains("kept in float: transformer.h.0.attn.c_attn (in_features 16 is not a multiple of 64)"), nf4.err)
    XCTAssertTrue(nf4.err.contains("kept in float: transformer.h.0.mlp.c_fc (in_features 16"), nf4.err)
    XCTAssertEqual(nf4.out.count, plain.out.count)
    let bad = try loom(args + ["--load-in-4bit", "--bnb-4bit-quant-type", "int4"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("--bnb-4bit-quant-type: 'int4' is not a 4-bit type; use nf4 or fp4"), bad.err)
    let train = try loom([
      "train", "gpt", "--model", dir, "--data", dir + "/config.json", "--output-dir", dir + "/q", "--load-in-4bit",
    ])
    XCTAssertNotEqual(train.status, 0)
    XCTAssertTrue(train.err.contains("frozen quantized base (QLoRA): pass --model DIR and --lora-r R"), train.err)
    // QLoRA as usually run: 4-bit base quantized as it loads, the rest bf16, float32 adapters.
    try String(repeating: "abc defg, hab.\n", count: 40).write(toFile: dir + "/text.txt", atomically: true, encoding: .utf8)
    let trainArgs = [
      "train", "gpt", "--model", dir, "--data", dir + "/text.txt", "--output-dir", dir + "/q", "--max-steps", "2",
      "--block-size", "8", "--samples", "0", "--validation-fraction", "0", "--torch-dtype", "bfloat16",
    ]
    let qlora = try loom(trainArgs + ["--load-in-4bit", "--lora-r", "4"])
    XCTAssertEqual(qlora.status, 0, qlora.err)
    XCTAssertTrue(qlora.err.contains("quantized 1 layers to nf4 (block 64)"), qlora.err)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/q/adapter_model.safetensors"))
    let halfFull = try loom(trainArgs.map { $0 == dir + "/q" ? dir + "/q-full" : $0 })
    XCTAssertNotEqual(halfFull.status, 0)
    XCTAssertTrue(halfFull.err.contains("for adapter training over a frozen base (--lora-r R or prompt tuning)"), halfFull.err)
    let both = try loom(args + ["--load-in-4bit", "--load-in-8bit"])
    XCTAssertNotEqual(both.status, 0)
    XCTAssertTrue(both.err.contains("exclude each other"), both.err)
  }
}
