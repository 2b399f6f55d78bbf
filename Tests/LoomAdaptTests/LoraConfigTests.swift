import Foundation
import LoomAdapt
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// LoraConfig fields, targeting rules, several adapters and the clear errors for bad input.
final class LoraConfigTests: XCTestCase {
  static let root = LoraParityTests.root

  func tinyGPT2(layers: Int = 2, width: Int = 16) throws -> GPT2LMHeadModel {
    try GPT2LMHeadModel(
      GPT2Config(vocabSize: 50, nPositions: 16, nEmbd: width, nLayer: layers, nHead: 2),
      generator: Generator(seed: 1))
  }

  func message(_ body: () throws -> Any) -> String {
    do {
      _ = try body()
      return "no error"
    } catch { return "\(error)" }
  }

  func testDefaultsAndPeftsConfigFileDecode() throws {
    let c = LoraConfig()
    XCTAssertEqual([c.r, Int(c.loraAlpha)], [8, 8])
    XCTAssertEqual(c.loraDropout, 0)
    XCTAssertEqual(c.bias, .none)
    XCTAssertEqual(c.initLoraWeights, .kaiming)
    let data = try Data(
      contentsOf: URL(fileURLWithPath: Self.root + "/bert/adapter/adapter_config.json"))
    let read = try JSONDecoder().decode(LoraConfig.self, from: data)
    XCTAssertEqual(read.r, 4)
    XCTAssertEqual(read.loraAlpha, 16)
    XCTAssertEqual(read.bias, .all)
    XCTAssertEqual(read.taskType, .sequenceClassification)
    XCTAssertEqual(read.targetModules, .names(["value", "query"]))
    XCTAssertEqual(read.modulesToSave, ["classifier", "score"])
    // Codable round trip through PEFT's field names.
    let again = try JSONDecoder().decode(LoraConfig.self, from: JSONEncoder().encode(read))
    XCTAssertEqual(again, read)
    XCTAssertEqual(LoraConfig.defaultTargetModules["bloom"], ["query_key_value"])
    XCTAssertEqual(LoraConfig.defaultTargetModules["llama"], ["q_proj", "v_proj"])
  }

  func testTargetingRules() throws {
    // Family default (gpt2: c_attn), layers_to_transform, rank_pattern / alpha_pattern.
    let m1 = try tinyGPT2()
    let p1 = try getPeftModel(
      m1,
      LoraConfig(
        layersToTransform: [1], rankPattern: ["c_attn": 2], alphaPattern: ["h.1.attn.c_attn": 6]))
    XCTAssertEqual(p1.loraLayers.map(\.path), ["transformer.h.1.attn.c_attn"])
    let s = p1.loraLayers[0].layer.lora.settings["default"]!
    XCTAssertEqual([Double(s.r), s.alpha, s.scaling], [2, 6, 3])
    // A regex must match the whole path; exclude_modules removes matches.
    let m2 = try tinyGPT2()
    let p2 = try getPeftModel(
      m2,
      LoraConfig(
        targetModules: .regex(#".*\.(c_fc|c_proj)"#), excludeModules: .names(["attn.c_proj"])))
    XCTAssertEqual(
      p2.loraLayers.map(\.path),
      [
        "transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj", "transformer.h.1.mlp.c_fc",
        "transformer.h.1.mlp.c_proj",
      ])
    // all-linear on a classifier: every Linear but the head; rsLoRA scaling alpha/√r.
    let bert = try BertForSequenceClassification.fromPretrained(Self.root + "/bert/base")
    let p3 = try getPeftModel(
      bert,
      LoraConfig(
        r: 4, loraAlpha: 8, targetModules: .allLinear, useRslora: true,
        taskType: .sequenceClassification))
    XCTAssertEqual(p3.loraLayers.count, 2 * 6 + 1)
    XCTAssertFalse(p3.loraLayers.contains { $0.path == "classifier" })
    XCTAssertEqual(p3.loraLayers[0].layer.lora.settings["default"]!.scaling, 4)
    // The head trains as modules_to_save; B = 0 keeps the output.
    XCTAssertTrue(bert.classifier.weight.requiresGrad)
    XCTAssertFalse(bert.bert.embeddings.word_embeddings.weight.requiresGrad)
  }

  func testSeveralAdaptersSwitchAndTrainOneAtATime() throws {
    let m = try tinyGPT2()
    m.eval()
    let ids = Tensor((0..<8).map { Int64($0 * 5 % 50) }, shape: [1, 8])
    let base = m(ids).toArray(Float.self)
    let p = try getPeftModel(
      m, LoraConfig(r: 2, initLoraWeights: .random), adapterName: "one",
      generator: Generator(seed: 2))
    try p.addAdapter(
      "two", LoraConfig(r: 3, initLoraWeights: .random), generator: Generator(seed: 3))
    XCTAssertEqual(p.activeAdapter, "one")
    let one = m(ids).toArray(Float.self)
    try p.setAdapter("two")
    let two = m(ids).toArray(Float.self)
    XCTAssertNotEqual(one, base)
    XCTAssertNotEqual(two, one)
    let c = p.loraLayers[0].layer as! LoraConv1D
    XCTAssertFalse((c.lora_A["one"] as! Linear).weight.requiresGrad)
    XCTAssertTrue((c.lora_A["two"] as! Linear).weight.requiresGrad)
    try p.setAdapter("one")
    XCTAssertEqual(m(ids).toArray(Float.self), one)
    XCTAssertThrowsError(try p.setAdapter("three"))
    XCTAssertTrue(message { try p.addAdapter("one", LoraConfig()) }.contains("already exists"))
    // Saving writes "default"-less adapters into sub-folders, as PEFT does.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "loom-lora-multi-\(getpid())"
    ).path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try p.save(to: dir)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/two/adapter_model.safetensors"))
    let fresh = try tinyGPT2()
    fresh.eval()
    let loaded = try PeftModel.load(fresh, from: dir + "/two")
    XCTAssertEqual(fresh(ids).toArray(Float.self), two)
    XCTAssertFalse(fresh.parameters().contains(where: \.requiresGrad))
    _ = loaded
  }

  func testBadInputIsAClearError() throws {
    // Target modules that match nothing name what the model has.
    var text = message {
      try getPeftModel(try self.tinyGPT2(), LoraConfig(targetModules: .names(["q_proj"])))
    }
    XCTAssertTrue(text.contains("match no layer") && text.contains("c_attn"), text)
    // A container is not a layer LoRA can wrap.
    text = message {
      try getPeftModel(try self.tinyGPT2(), LoraConfig(targetModules: .names(["attn"])))
    }
    XCTAssertTrue(text.contains("GPT2Attention") && text.contains("only Linear"), text)
    // r 0.
    text = message { try getPeftModel(try self.tinyGPT2(), LoraConfig(r: 0)) }
    XCTAssertTrue(text.contains("`r` should be a positive integer"), text)

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "loom-lora-bad-\(getpid())"
    ).path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let original = try String(
      contentsOfFile: Self.root + "/gpt2/adapter/adapter_config.json", encoding: .utf8)
    try FileManager.default.copyItem(
      atPath: Self.root + "/gpt2/adapter/adapter_model.safetensors",
      toPath: dir + "/adapter_model.safetensors")
    func load(_ config: String, into model: Module? = nil) -> String {
      try? config.write(toFile: dir + "/adapter_config.json", atomically: true, encoding: .utf8)
      return message {
        let base = try model ?? self.tinyGPT2()
        return try PeftModel.load(base, from: dir)
      }
    }
    text = load(original.replacingOccurrences(of: #""r": 4"#, with: #""r": 0"#))
    XCTAssertTrue(
      text.contains("`r` should be a positive integer") && text.contains("adapter_config.json"),
      text)
    text = load(
      original.replacingOccurrences(of: #""peft_type": "LORA""#, with: #""peft_type": "IA3""#))
    XCTAssertTrue(text.contains("peft_type 'IA3'") && text.contains("LORA"), text)
    // An adapter for a different base: another width (shape) or fewer layers (names).
    text = load(original, into: try tinyGPT2(width: 32))
    XCTAssertTrue(
      text.contains("c_attn.base_layer.bias' has shape [48] but this gpt2 model expects [96]"), text
    )
    text = load(original, into: try tinyGPT2(layers: 1))
    XCTAssertTrue(
      text.contains("'transformer.h.1.attn.c_attn.base_layer.bias'")
        && text.contains("different base"), text)
    // Found by CLIMutationTests (loom generate --adapter): broken JSON and a wrongly typed field printed a raw
    // DecodingError; now the file, the field, the type wanted and what was found.
    text = load(String(original.dropLast(3)))
    XCTAssertTrue(text.contains("adapter_config.json: not valid JSON") && !text.contains("DecodingError"), text)
    text = load(original.replacingOccurrences(of: #""fan_in_fan_out": true"#, with: #""fan_in_fan_out": 1"#))
    XCTAssertTrue(
      text.contains("adapter_config.json: not a valid LoRA config: field 'fan_in_fan_out' must be true or false, got the number 1")
        && !text.contains("DecodingError"), text)
    // No adapter here at all.
    text = message { try PeftModel.load(try self.tinyGPT2(), from: dir + "/nothing") }
    XCTAssertTrue(text.contains("no adapter_config.json"), text)
    // Unknown model type without target_modules.
    text = message { try getPeftModel(Linear(4, 4), LoraConfig()) }
    XCTAssertTrue(text.contains("no default target_modules"), text)
  }
}
