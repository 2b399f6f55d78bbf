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
}
