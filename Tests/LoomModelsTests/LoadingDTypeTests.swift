import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// `from_pretrained(torch_dtype=…)`: a model built and loaded straight in bfloat16 / float16
/// holds exactly the checkpoint's values rounded once, keeps tied weights tied, and computes
/// what the float32 model computes up to half-precision rounding.
final class LoadingDTypeTests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

  func testParsingHFSpellingsAndAutoFromConfig() throws {
    XCTAssertEqual(try LoadingDType(parsing: "bfloat16"), .exactly(.bfloat16))
    XCTAssertEqual(try LoadingDType(parsing: "torch.float16"), .exactly(.float16))
    XCTAssertEqual(try LoadingDType(parsing: "fp32"), .exactly(.float32))
    XCTAssertEqual(try LoadingDType(parsing: "auto"), .auto)
    XCTAssertThrowsError(try LoadingDType(parsing: "int8")) { error in
      XCTAssertEqual(
        "\(error)", "torch_dtype 'int8' is not one of auto, float32, bfloat16, float16")
    }
    let dir = NSTemporaryDirectory() + "loom-dtype-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for (json, expected) in [
      (#"{"torch_dtype": "bfloat16"}"#, DType.bfloat16), (#"{"dtype": "float16"}"#, .float16),
      ("{}", .float32),
    ] {
      try json.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
      XCTAssertEqual(try LoadingDType.auto.resolve(for: dir), expected, json)
    }
    try #"{"torch_dtype": "int4"}"#.write(
      toFile: dir + "/config.json", atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try LoadingDType.auto.resolve(for: dir)) { error in
      XCTAssertTrue(
        "\(error)".contains("torch_dtype 'int4' is not float32, bfloat16 or float16"), "\(error)")
    }
  }

  /// Inside the construction scope parameters are born in the half type: empty (nothing drawn) when
  /// initialisation is skipped, else the float32 draws rounded once (same generator state).
  func testConstructionScopeStoresParametersInTheHalfType() throws {
    let config = GPT2Config(vocabSize: 50, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2)
    manualSeed(3)
    let reference = try GPT2LMHeadModel(config)
    manualSeed(3)
    let drawn = try ParameterCreation.run(dtype: .bfloat16) { try GPT2LMHeadModel(config) }
    manualSeed(3)
    let skipped = try ParameterCreation.run(dtype: .bfloat16, skippingInitialization: true) {
      try GPT2LMHeadModel(config)
    }
    let afterSkipped = Tensor.randn([8]).floats
    manualSeed(3)
    XCTAssertEqual(afterSkipped, Tensor.randn([8]).floats, "a skipped construction draws no random numbers")
    let expected = reference.stateDict()
    for (name, p) in drawn.stateDict() where expected[name]!.dtype.isFloatingPoint {
      XCTAssertEqual(p.dtype, .bfloat16, name)
      XCTAssertEqual(p.to(.float32).floats, expected[name]!.to(.bfloat16).to(.float32).floats, name)
    }
    for (name, p) in skipped.stateDict() where p.dtype.isFloatingPoint {
      XCTAssertEqual(p.dtype, .bfloat16, name)
    }
    XCTAssertEqual(ParameterCreation.scope == nil, true, "the scope ends with run")
    XCTAssertEqual(try GPT2LMHeadModel(config).transformer.wte.weight.dtype, .float32)
  }

  func testCausalAndSeq2SeqModelsLoadInHalfTypes() throws {
    for name in ["gpt2-tiny", "llama-tied", "bloom-tiny"] {
      let dir = Self.fixtures + "/" + name
      let full = try AutoModelForCausalLM.from(directory: dir)
      let ids = Tensor([Int64(1), 7, 3, 9, 2], shape: [1, 5])
      let expectedLogits = full(ids)
      let weights = full.stateDict()
      for dtype in [DType.bfloat16, .float16] {
        let half = try AutoModelForCausalLM.from(directory: dir, dtype: dtype)
        for (key, p) in half.stateDict() where weights[key]!.dtype.isFloatingPoint {
          XCTAssertEqual(p.dtype, dtype, "\(name) \(key)")
          XCTAssertEqual(
            p.to(.float32).floats, weights[key]!.to(dtype).to(.float32).floats, "\(name) \(key)")
        }
        // Tied weights stay one tensor (the head reads the embedding table).
        let parameters = half.parameters()
        XCTAssertEqual(
          Set(parameters.map { ObjectIdentifier($0) }).count, full.parameters().count,
          "\(name): parameter count")
        let logits = half(ids)
        XCTAssertEqual(logits.dtype, dtype, name)
        let scale = expectedLogits.abs().max().item()
        let error = (logits.to(.float32) - expectedLogits).abs().max().item()
        XCTAssertLessThan(
          error, 0.05 * scale, "\(name) in \(dtype): logits error \(error) at scale \(scale)")
      }
    }
    let bart = try AutoModelForSeq2SeqLM.from(
      directory: Self.fixtures + "/bart-tiny", dtype: .bfloat16)
    XCTAssertTrue(bart.parameters().allSatisfy { $0.dtype == .bfloat16 })
  }

  /// transformers' `load_in_4bit` / `load_in_8bit` with `torch_dtype=bfloat16`: the quantizable layers hold the
  /// codes of their (bf16) weights, the rest stays bf16, activations cross the float32 kernels and come back in
  /// bf16; the logits are those of the same quantized layers in a float32 model, up to bf16 rounding.
  func testQuantizedLayersInABFloat16Model() throws {
    let config = GPT2Config(vocabSize: 96, nPositions: 16, nEmbd: 64, nLayer: 2, nHead: 2)
    manualSeed(9)
    let half = try GPT2LMHeadModel(config).to(dtype: .bfloat16)
    let full = try GPT2LMHeadModel(config)
    try full.loadStateDict(half.stateDict().mapValues { $0.to(.float32) })
    let ids = Tensor([Int64(5), 17, 42, 8, 23, 39, 1], shape: [1, 7])
    for quantization in [
      BitsAndBytesConfig(loadIn4bit: true), BitsAndBytesConfig(loadIn8bit: true),
    ] {
      let h = try GPT2LMHeadModel(config)
      try h.to(dtype: .bfloat16).loadStateDict(half.stateDict())
      let f = try GPT2LMHeadModel(config)
      try f.loadStateDict(full.stateDict())
      let reportHalf = try h.quantize(quantization)
      let reportFull = try f.quantize(quantization)
      XCTAssertEqual(reportHalf.quantized, reportFull.quantized)
      XCTAssertEqual(
        reportHalf.quantized.count, 8, "c_attn, c_proj, c_fc, mlp.c_proj of both blocks")
      for (key, codes) in f.stateDict() where codes.dtype == .uint8 {
        XCTAssertEqual(
          h.stateDict()[key]!.toArray(Double.self), codes.toArray(Double.self), "\(key): same codes"
        )
      }
      h.eval()
      f.eval()
      let logits = h(ids)
      let expected = f(ids)
      XCTAssertEqual(logits.dtype, .bfloat16)
      let scale = expected.abs().max().item()
      let error = (logits.to(.float32) - expected).abs().max().item()
      XCTAssertLessThan(
        error, 0.05 * scale, "\(quantization): logits error \(error) at scale \(scale)")
    }
  }
}
