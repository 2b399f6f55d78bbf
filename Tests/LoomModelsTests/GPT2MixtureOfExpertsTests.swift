import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomTestSupport
import XCTest

/// GPT-2 with mixture-of-experts MLPs: config.json fields, save/load, the router losses in the
/// loss, and `loom train gpt --moe-experts` end to end with its bad flags.
final class GPT2MixtureOfExpertsTests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-moe-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func tinyConfig(experts: Int) -> GPT2Config {
    var c = GPT2Config(vocabSize: 20, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2)
    c.numExperts = experts
    c.numExpertsPerTok = 2
    c.expertCapacityFactor = 1.25
    return c
  }

  func testConfigSaveLoadAndLoss() throws {
    let dense = String(decoding: try JSONEncoder().encode(tinyConfig(experts: 0)), as: UTF8.self)
    XCTAssertFalse(dense.contains("num_experts"), "dense GPT-2 configs keep GPT-2's keys: \(dense)")
    manualSeed(1)
    let model = try GPT2LMHeadModel(tinyConfig(experts: 3))
    XCTAssertEqual(model.expertLayers.count, 2)
    let keys = Set(model.stateDict().keys)
    for k in [
      "transformer.h.0.mlp.router.classifier.weight",
      "transformer.h.1.mlp.experts.expert_2.c_fc.weight",
      "transformer.h.1.mlp.experts.expert_0.c_proj.bias",
    ] {
      XCTAssertTrue(keys.contains(k), k)
    }
    XCTAssertFalse(keys.contains("transformer.h.0.mlp.c_fc.weight"))
    try model.save(to: dir)
    let json = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
    for field in [
      "\"num_experts\"", "\"num_experts_per_tok\"", "\"expert_capacity_factor\"",
      "\"router_aux_loss_coef\"",
    ] {
      XCTAssertTrue(json.contains(field), field)
    }
    let loaded = try GPT2LMHeadModel.load(from: dir)
    XCTAssertEqual(loaded.config, model.config)
    model.eval()
    loaded.eval()
    let ids = Tensor([Int64]([1, 5, 7, 2, 9, 3, 4, 8]), shape: [2, 4])
    XCTAssertEqual(model(ids).toArray(Float.self), loaded(ids).toArray(Float.self))
    // loss = cross-entropy + 0.001 · z + 0.001 · aux, the parts unscaled.
    let out = model.lossOutput(ids, labels: ids)
    let z = try XCTUnwrap(out.parts["z_loss"]).item()
    let aux = try XCTUnwrap(out.parts["aux_loss"]).item()
    XCTAssertGreaterThan(aux, 0.5)  // ≈ 1 for balanced routing, E·k/… otherwise
    XCTAssertGreaterThan(z, 0)
    let lm = crossEntropy(
      out.logits.slice(dim: 1, start: 0, end: 3).reshape([-1, 20]),
      ids.slice(dim: 1, start: 1, end: 4).contiguous().reshape([-1]))
    XCTAssertEqual(out.loss.item(), lm.item() + 0.001 * (z + aux), accuracy: 1e-5)
    // Gradients reach every router.
    out.loss.backward()
    for layer in model.expertLayers {
      XCTAssertGreaterThan(try XCTUnwrap(layer.router.classifier.weight.grad).abs().sum().item(), 0)
    }
  }

  func testTrainGenerateAndReload() throws {
    let corpus = dir + "/corpus.txt"
    try String(repeating: "to be or not to be, that is the question.\n", count: 60)
      .write(toFile: corpus, atomically: true, encoding: .utf8)
    let config = dir + "/config.json"
    try
      #"{"n_positions": 32, "n_embd": 32, "n_layer": 2, "n_head": 2, "resid_pdrop": 0, "embd_pdrop": 0, "attn_pdrop": 0}"#
      .write(toFile: config, atomically: true, encoding: .utf8)
    let out = dir + "/model"
    let r = try loom([
      "train", "gpt", "--data", corpus, "--char", "--config", config, "--moe-experts", "4",
      "--moe-top-k", "2",
      "--moe-capacity-factor", "1.5", "--max-steps", "30", "--learning-rate", "3e-3",
      "--per-device-train-batch-size", "4",
      "--logging-steps", "10", "--eval-steps", "15", "--save-steps", "30", "--samples", "0",
      "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(
      r.out.contains("mixture of experts: 4 experts per block, top-2, capacity factor 1.5"), r.out)
    let saved =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(saved["num_experts"] as? Int, 4)
    XCTAssertEqual(saved["num_experts_per_tok"] as? Int, 2)
    XCTAssertEqual(saved["expert_capacity_factor"] as? Double, 1.5)
    XCTAssertEqual(saved["router_z_loss_coef"] as? Double, 0.001)
    let weights = try SafeTensorsFile(path: out + "/model.safetensors")
    XCTAssertTrue(weights.names.contains("transformer.h.1.mlp.experts.expert_3.c_proj.weight"))
    let logs = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(
      separator: "\n"
    )
    .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    let train = logs.filter { $0["loss"] != nil }
    let losses = train.compactMap { $0["loss"] as? Double }
    XCTAssertLessThan(losses.last!, losses.first! * 0.8, "loss should fall: \(losses)")
    for row in train {
      XCTAssertGreaterThan(row["aux_loss"] as? Double ?? 0, 0.5, "\(row)")
      XCTAssertNotNil(row["z_loss"] as? Double, "\(row)")
    }
    XCTAssertTrue(logs.contains { $0["eval_aux_loss"] != nil })
    // Usage printed per block; top-2 of 4 keeps several experts busy.
    let usage = r.out.split(separator: "\n").filter { $0.hasPrefix("expert usage, block ") }
    XCTAssertEqual(usage.count, 2, r.out)
    for line in usage {
      let shares = line.split(separator: ":").last!.split(separator: " ").compactMap { Double($0) }
      XCTAssertEqual(shares.count, 4)
      XCTAssertEqual(shares.reduce(0, +), 1, accuracy: 0.01)
      XCTAssertGreaterThanOrEqual(shares.filter { $0 > 0.05 }.count, 2, String(line))
    }
    let g = try loom(["generate", "--model", out, "--prompt", "to be", "--max-new-tokens", "12"])
    XCTAssertEqual(g.status, 0, g.err)
    XCTAssertTrue(g.out.hasPrefix("to be"), g.out)
    XCTAssertEqual(g.out.trimmingCharacters(in: .newlines).count, 5 + 12)
    let more = try loom([
      "train", "gpt", "--data", corpus, "--model", out, "--max-steps", "2", "--samples", "0",
      "--output-dir", dir + "/more",
    ])
    XCTAssertEqual(more.status, 0, more.err)
    XCTAssertTrue(more.out.contains("mixture of experts: 4 experts per block"), more.out)
  }

  func testBadFlagsGiveClearErrors() throws {
    let corpus = dir + "/corpus.txt"
    try String(repeating: "abcdefgh\n", count: 40).write(
      toFile: corpus, atomically: true, encoding: .utf8)
    let badConfig = dir + "/bad.json"
    try
      #"{"n_positions": 16, "n_embd": 16, "n_layer": 1, "n_head": 2, "num_experts": 2, "num_experts_per_tok": 3}"#
      .write(toFile: badConfig, atomically: true, encoding: .utf8)
    let base = [
      "train", "gpt", "--data", corpus, "--char", "--max-steps", "1", "--output-dir", dir + "/o",
    ]
    let cases: [([String], String)] = [
      (["--moe-experts", "0"], "--moe-experts must be >= 1, got 0"),
      (
        ["--moe-experts", "2", "--moe-top-k", "3"],
        "--moe-top-k must be in 1...2 (--moe-experts), got 3"
      ),
      (["--moe-top-k", "2"], "--moe-top-k needs --moe-experts N"),
      (
        ["--moe-experts", "2", "--moe-capacity-factor", "0"],
        "--moe-capacity-factor must be a positive number, got 0.0"
      ),
      (
        ["--moe-experts", "2", "--router-aux-loss-coef", "-1"],
        "--router-aux-loss-coef must be a finite number >= 0"
      ),
      (["--moe-experts", "2", "--model", dir], "drop --moe-experts"),
      (["--config", badConfig], "num_experts_per_tok must be in 1...num_experts (2), got 3"),
    ]
    for (extra, message) in cases {
      let r = try loom(base + extra)
      XCTAssertNotEqual(r.status, 0, "\(extra) should fail")
      XCTAssertTrue(
        (r.err + r.out).contains(message), "\(extra): expected '\(message)' in: \(r.err)")
    }
  }
}
