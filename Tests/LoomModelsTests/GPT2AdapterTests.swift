import LoomCore
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// A LoRA-style adapter for GPT-2's fused QKV projection: the original Conv1D's tensors
/// plus a trainable low-rank update x·A·B·(alpha/r), B starting at zero.
final class LoRAConv1D: Conv1D {
  @Parameter var lora_A: Tensor
  @Parameter var lora_B: Tensor
  let scaling: Double

  init(wrapping base: Conv1D, rank: Int, alpha: Double = 16, generator: Generator) {
    let (inFeatures, outFeatures) = (base.weight.shape[0], base.weight.shape[1])
    lora_A = Init.normal([inFeatures, rank], std: 0.02, generator: generator)
    lora_B = Init.zeros([rank, outFeatures])
    scaling = alpha / Double(rank)
    super.init(weight: base.weight, bias: base.bias)
  }

  override func forward(_ x: Tensor) -> Tensor {
    super.forward(x) + x.matmul(lora_A).matmul(lora_B) * scaling
  }
}

final class GPT2AdapterTests: XCTestCase {
  override func setUp() { TestDevice.apply() }
  func testWrappingCAttnTrainsOnlyTheAdapter() throws {
    let config = GPT2Config(vocabSize: 40, nPositions: 16, nEmbd: 8, nLayer: 2, nHead: 2)
    let model = try GPT2LMHeadModel(config, generator: Generator(seed: 5))
    let ids = Tensor((0..<24).map { Int64($0 * 7 % 40) }, shape: [2, 12])
    model.eval()
    let logitsBefore = model(ids).toArray(Float.self)

    model.freeze()
    let generator = Generator(seed: 9)
    let replaced = try model.replaceModules { path, module in
      guard path.hasSuffix("attn.c_attn"), let conv = module as? Conv1D else { return nil }
      return LoRAConv1D(wrapping: conv, rank: 2, generator: generator)
    }
    XCTAssertEqual(replaced, ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"])
    XCTAssertTrue(model.module(at: "transformer.h.1.attn.c_attn") is LoRAConv1D)
    // B = 0: the wrapped model computes what the original did.
    XCTAssertEqual(model(ids).toArray(Float.self), logitsBefore)
    // Checkpoint names of the wrapped layer are unchanged; the adapter adds its own.
    let names = model.namedParameters().map(\.0)
    XCTAssertTrue(names.contains("transformer.h.0.attn.c_attn.weight"))
    XCTAssertTrue(names.contains("transformer.h.0.attn.c_attn.lora_A"))
    // A path that is not there, and a type the property does not accept.
    XCTAssertThrowsError(
      try model.replaceModule(at: "transformer.h.2.attn.c_attn", with: Conv1D(8, 24, std: 0.02)))
    XCTAssertThrowsError(
      try model.replaceModule(at: "transformer.h.0.attn.c_attn", with: Linear(8, 24))
    ) {
      XCTAssertTrue("\($0)".contains("declared as Conv1D"), "\($0)")
    }

    let trainable = model.parameters().filter(\.requiresGrad)
    XCTAssertEqual(trainable.count, 4)
    XCTAssertEqual(model.parameterCount(trainableOnly: true), 2 * (8 * 2 + 2 * 24))
    let snapshot = model.namedParameters().map { ($0.0, $0.1.toArray(Float.self)) }
    model.train()
    let optimizer = AdamW(trainable, lr: 1e-2)
    for _ in 0..<3 {
      optimizer.zeroGrad()
      let (loss, _) = model.loss(ids, labels: ids)
      loss.backward()
      optimizer.step()
    }
    let after = Dictionary(
      uniqueKeysWithValues: model.namedParameters().map { ($0.0, $0.1.toArray(Float.self)) })
    var changed: [String] = []
    for (name, values) in snapshot {
      if after[name]! != values { changed.append(name) }
    }
    XCTAssertEqual(
      changed.sorted(),
      [
        "transformer.h.0.attn.c_attn.lora_A", "transformer.h.0.attn.c_attn.lora_B",
        "transformer.h.1.attn.c_attn.lora_A", "transformer.h.1.attn.c_attn.lora_B",
      ])
  }

  func testGPT2PrintsItsTreeAndCastsToBFloat16() throws {
    let config = GPT2Config(vocabSize: 40, nPositions: 16, nEmbd: 8, nLayer: 2, nHead: 2)
    let model = try GPT2LMHeadModel(config, generator: Generator(seed: 5))
    XCTAssertEqual(
      model.description,
      """
      GPT2LMHeadModel(
        (transformer): GPT2Model(
          (wte): Embedding(40, 8)
          (wpe): Embedding(16, 8)
          (h): ModuleList(
            (0-1): 2 x GPT2Block(
              (ln_1): LayerNorm((8,), eps=1e-05, elementwise_affine=True)
              (attn): GPT2Attention(
                (c_attn): Conv1D(nf=24, nx=8)
                (c_proj): Conv1D(nf=8, nx=8)
              )
              (ln_2): LayerNorm((8,), eps=1e-05, elementwise_affine=True)
              (mlp): GPT2MLP(
                (c_fc): Conv1D(nf=32, nx=8)
                (c_proj): Conv1D(nf=8, nx=32)
              )
            )
          )
          (ln_f): LayerNorm((8,), eps=1e-05, elementwise_affine=True)
        )
      )
      """)

    let ids = Tensor((0..<10).map { Int64($0 * 3 % 40) }, shape: [1, 10])
    model.eval()
    let reference = model(ids).toArray(Float.self)
    let originals = model.namedParameters().map { ($0.0, $0.1.toArray(Float.self), $0.1.shape) }
    try model.to(dtype: .bfloat16)
    XCTAssertTrue(model.parameters().allSatisfy { $0.dtype == .bfloat16 })
    // Cast back: the round trip keeps the bfloat16-rounded values (a bfloat16 forward is
    // AutocastParityTests' subject).
    try model.to(dtype: .float32)
    for (name, values, shape) in originals {
      XCTAssertEqual(
        model.stateDict()[name]!.toArray(Float.self),
        Tensor(values, shape: shape).to(.bfloat16).toArray(Float.self),
        name)
    }
    let logits = model(ids).toArray(Float.self)
    XCTAssertNotEqual(logits, reference)
    for (a, b) in zip(logits, reference) { XCTAssertEqual(a, b, accuracy: 0.05) }
  }
}
