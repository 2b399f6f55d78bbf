import Foundation
import LoomAdapt
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest



/// QLoRA: LoRA adapters in float over a frozen 4-bit (NF4, double-quantized) GPT-2. The loss falls, the
/// quantized codes never change, and the adapter is saved in PEFT's layout with the float base's shapes.
final class QLoRATests: XCTestCase {
  func testLoraOverNF4BaseTrainsAndSavesPeftFiles() throws {
    manualSeed(21)
    let model = try GPT2LMHeadModel(
      GPT2Config(vocabSize: 40, nPositions: 32, nEmbd: 64, nLayer: 2, nHead: 4, bosTokenId: nil, eosTokenId: nil))
    let report = try model.quantize(
      BitsAndBytesConfig(loadIn4bit: true, bnb4bitQuantType: .nf4, bnb4bitUseDoubleQuant: true))
    XCTAssertEqual(report.quantized.count, 8)
    let codes = model.transformer.h[0].attn.c_attn.weight.toArray(UInt8.self)
    let peft = try getPeftModel(
      model,
      LoraConfig(r: 8, loraAlpha: 16, targetModules: .names(["c_attn", "c_proj", "c_fc"]), fanInFanOut: true),
      modelType: "gpt2", generator: Generator(seed: 5))
    let wrapped = try XCTUnwrap(model.transformer.h[0].attn.c_attn as? LoraConv1D)
    XCTAssertTrue(wrapped.baseLayer() is QuantizedConv1D)
    let trainable = model.parameters().filter(\.requiresGrad)
    XCTAssertEqual(trainable.count, 2 * 4 * 2)  // A and B of c_attn, attn.c_proj, c_fc, mlp.c_proj; 2 layers
    XCTAssertTrue(trainable.allSatisfy { $0.dtype == .float32 })

    let opt = AdamW(trainable, lr: 1e-2)
    let ids = Tensor.randint(0, 40, [4, 32], generator: Generator(seed: 9))
    var losses: [Double] = []
    for _ in 0..<60 {
      let loss = model.loss(ids, labels: ids).loss
      losses.append(loss.item())
      loss.backward()
      opt.step()
      opt.zeroGrad()
    }
    print("QLoRA losses: first \(losses[0]) last \(losses.last!)")
    XCTAssertLessThan(losses.last!, 0.8 * losses[0])
    XCTAssertEqual(model.transformer.h[0].attn.c_attn.weight.toArray(UInt8.self), codes)

    let dir = NSTemporaryDirectory() + "loom-qlora-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try peft.save(to: dir)
    let file = try SafeTensorsFile(path: dir + "/adapter_model.safetensors")
    XCTAssertEqual(file.names.count, 16)
    XCTAssertEqual(
      try file.tensor("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight").shape, [8, 64])
    XCTAssertEqual(
      try file.tensor("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight").shape, [192, 8])
    XCTAssertEqual(try file.tensor("base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight").shape, [8, 256])
  }

  /// QLoRA's usual setting, a bf16 model with float32 adapters (PEFT casts the input to the adapter's dtype,
  /// adds in float32 and returns the base's dtype): a layer's output is exactly
  /// bf16(float32(base(x)) + B(A(float32(x)))·scaling), the gradients reach the float32 factors, and training
  /// over a 4-bit base in a bf16 model lowers the loss.
  func testFloat32AdaptersOverABFloat16Base() throws {
    manualSeed(23)
    let model = try GPT2LMHeadModel(
      GPT2Config(vocabSize: 40, nPositions: 32, nEmbd: 64, nLayer: 2, nHead: 4, bosTokenId: nil, eosTokenId: nil)
    ).to(dtype: .bfloat16)
    try model.quantize(BitsAndBytesConfig(loadIn4bit: true))
    _ = try getPeftModel(
      model, LoraConfig(r: 4, loraAlpha: 8, targetModules: .names(["c_attn", "c_fc"]), fanInFanOut: true),
      modelType: "gpt2", generator: Generator(seed: 3))
    let layer = try XCTUnwrap(model.transformer.h[0].attn.c_attn as? LoraConv1D)
    // Non-zero B, so the update is seen.
    noGrad { (layer.lora_B["default"] as! Linear).weight.copyIn(Tensor.randn([192, 4]) * 0.1) }
    let x = (Tensor.randn([3, 64]) * 0.5).to(.bfloat16)
    let y = layer(x)
    XCTAssertEqual(y.dtype, .bfloat16)
    let a = (layer.lora_A["default"] as! Linear).weight, b = (layer.lora_B["default"] as! Linear).weight
    let base = try XCTUnwrap(layer.baseLayer() as? QuantizedConv1D)(x)
    let expected = (base.to(.float32) + linear(linear(x.to(.float32), weight: a), weight: b) * 2).to(.bfloat16)
    XCTAssertEqual(y.to(.float32).floats, expected.to(.float32).floats)
    y.to(.float32).sum().backward()
    XCTAssertEqual(a.grad?.dtype, .float32)
    XCTAssertGreaterThan(try XCTUnwrap(a.grad).abs().sum().item(), 0)

    let trainable = model.parameters().filter(\.requiresGrad)
    XCTAssertTrue(trainable.allSatisfy { $0.dtype == .float32 })
    model.zeroGrad()
    let opt = AdamW(trainable, lr: 1e-2)
    let ids = Tensor.randint(0, 40, [4, 32], generator: Generator(seed: 9))
    var losses: [Double] = []
    for _ in 0..<40 {
      let loss = model.loss(ids, labels: ids).loss
      losses.append(loss.to(.float32).item())
      loss.backward()
      opt.step()
      opt.zeroGrad()
    }
    XCTAssertLessThan(losses.last!, 0.85 * losses[0], "\(losses)")
  }
}
