import Foundation
import LoomCore
import LoomModels
import LoomNN
import XCTest

/// `from_pretrained(quantization_config=…)`: quantizing each weight as it is read gives exactly the model that
/// loading in float and then quantizing gives — same codes, scales, float rest and logits — for GPT-2 (Conv1D)
/// and Llama (Linear), in float32 and bfloat16, for NF4, FP4 with double quantization and int8.
final class QuantizedLoadingTests: XCTestCase {
  var directory = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "loom-qload-\(UUID().uuidString)"
    manualSeed(21)
    // 64-wide layers, so every Linear / Conv1D holds whole 4-bit blocks.
    try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: 48, nPositions: 16, nEmbd: 64, nLayer: 2, nHead: 4, bosTokenId: nil,
        eosTokenId: nil)
    ).save(to: directory + "/gpt2")
    try LlamaForCausalLM(
      LlamaConfig(
        vocabSize: 48, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
        numAttentionHeads: 4,
        numKeyValueHeads: 2, maxPositionEmbeddings: 32)
    ).savePretrained(to: directory + "/llama")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// A tensor's values, exactly (codes and half values widened to Double).
  func exact(_ t: Tensor?) -> [Double]? {
    guard let t else { return nil }
    return t.dtype.isFloatingPoint ? t.to(.float32).floats.map(Double.init) : t.toArray(Double.self)
  }

  func testQuantizingWhileLoadingEqualsLoadingThenQuantizing() throws {
    let ids = Tensor([Int64(5), 17, 42, 8, 23, 39, 1], shape: [1, 7])
    let configs = [
      BitsAndBytesConfig(loadIn4bit: true),
      BitsAndBytesConfig(loadIn4bit: true, bnb4bitQuantType: .fp4, bnb4bitUseDoubleQuant: true),
      BitsAndBytesConfig(loadIn8bit: true),
    ]
    for name in ["gpt2", "llama"] {
      for dtype in [DType.float32, .bfloat16] {
        for config in configs {
          let what = "\(name) \(dtype) \(config.format!)"
          let reference = try AutoModelForCausalLM.from(
            directory: directory + "/" + name, dtype: dtype)
          let expectedReport = try reference.quantize(config)
          var report: QuantizationReport? = nil
          let loaded = try AutoModelForCausalLM.from(
            directory: directory + "/" + name, dtype: dtype, quantization: config,
            report: { report = $0 })
          XCTAssertEqual(report, expectedReport, what)
          // GPT-2: c_attn, c_proj, c_fc, mlp.c_proj; Llama: q, k, v, o, gate, up, down; two blocks each.
          XCTAssertEqual(
            report?.quantized.count, name == "gpt2" ? 8 : 14, "\(what): every projection")
          let (got, expected) = (loaded.stateDict(), reference.stateDict())
          XCTAssertEqual(Set(got.keys), Set(expected.keys), what)
          // Same dtypes too: a bf16 load casts the float rest, never the scales (float32 absmax, uint8 codes).
          for (key, tensor) in expected {
            XCTAssertEqual(got[key]?.dtype, tensor.dtype, "\(what) \(key)")
            XCTAssertEqual(exact(got[key]), exact(tensor), "\(what) \(key)")
          }
          reference.eval()
          loaded.eval()
          XCTAssertEqual(loaded(ids).to(.float32).floats, reference(ids).to(.float32).floats, what)
        }
      }
    }
  }

  /// Loading draws no random numbers (HF builds on the meta device): the generator is where it was.
  func testLoadingLeavesTheGeneratorAlone() throws {
    manualSeed(5)
    let expected = Tensor.randn([6]).floats
    manualSeed(5)
    _ = try AutoModelForCausalLM.from(directory: directory + "/gpt2")
    _ = try AutoModelForCausalLM.from(
      directory: directory + "/llama", quantization: BitsAndBytesConfig(loadIn4bit: true))
    XCTAssertEqual(Tensor.randn([6]).floats, expected)
  }

  func testQuantizedLoadingNeedsAModelDirectory() throws {
    let config = GPT2Config(vocabSize: 48, nPositions: 16, nEmbd: 64, nLayer: 1, nHead: 4)
    XCTAssertThrowsError(
      try LoadingDType.load(in: .float32, quantization: BitsAndBytesConfig(loadIn4bit: true)) {
        try GPT2LMHeadModel(config)
      }
    ) { error in
      XCTAssertTrue(
        "\(error)".contains("quantized loading needs a model read from a directory"), "\(error)")
    }
  }

  /// `to(dtype:)` on a quantized model casts its float weights and leaves codes and scales alone.
  func testCastingAQuantizedModelKeepsItsScales() throws {
    let model = try AutoModelForCausalLM.from(
      directory: directory + "/gpt2", quantization: BitsAndBytesConfig(loadIn4bit: true))
    let before = model.stateDict().mapValues { exact($0)! }
    try model.to(dtype: .bfloat16)
    for (key, tensor) in model.stateDict() {
      if key.hasSuffix("absmax") {
        XCTAssertEqual(tensor.dtype, .float32, key)
        XCTAssertEqual(exact(tensor), before[key], key)
      } else if tensor.dtype == .uint8 {
        XCTAssertEqual(exact(tensor), before[key], key)
      } else {
        XCTAssertEqual(tensor.dtype, .bfloat16, key)
      }
    }
  }
}
