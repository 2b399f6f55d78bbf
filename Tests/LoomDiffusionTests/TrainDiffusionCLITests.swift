import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

@testable import LoomDiffusion

/// `loom train diffusion` end to end on a tiny IDX dataset: the pipeline folder, logs and pictures it
/// writes load back (Loom and `loom sample`), and bad input fails with clear messages.
final class TrainDiffusionCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-train-diffusion-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  /// Fashion-MNIST's file layout with 8 training and 4 test images.
  func writeIDX() throws -> String {
    func idx(_ magic: UInt32, _ dims: [UInt32], _ data: [UInt8]) -> Data {
      var b: [UInt8] = []
      for v in [magic] + dims { b += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
      return Data(b + data)
    }
    let d = dir + "/data"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    let files = [
      "train-images-idx3-ubyte": idx(IDX.imagesMagic, [8, 28, 28], (0..<(8 * 784)).map { UInt8($0 % 251) }),
      "train-labels-idx1-ubyte": idx(IDX.labelsMagic, [8], [0, 1, 2, 3, 4, 5, 6, 7]),
      "t10k-images-idx3-ubyte": idx(IDX.imagesMagic, [4, 28, 28], (0..<(4 * 784)).map { UInt8($0 % 13) }),
      "t10k-labels-idx1-ubyte": idx(IDX.labelsMagic, [4], [9, 8, 7, 6]),
    ]
    for (name, bytes) in files { try bytes.write(to: URL(fileURLWithPath: d + "/" + name)) }
    return d
  }

  func train(_ extra: [String]) throws -> (status: Int32, out: String, err: String, dir: String) {
    let out = dir + "/run-\(UUID().uuidString)"
    let r = try loom(
      [
        "train", "diffusion", "--data-dir", try writeIDX(), "--output-dir", out, "--max-steps", "2",
        "--batch-size", "4", "--per-device-eval-batch-size", "4", "--block-out-channels", "8,8",
        "--norm-num-groups", "4", "--num-sample-images", "3", "--sample-steps", "2", "--num-train-timesteps", "50",
        "--logging-steps", "1",
      ] + extra)
    return (r.status, r.out, r.err, out)
  }

  func testUnconditionalRunWritesALoadablePipeline() throws {
    let r = try train(["--prediction-type", "v_prediction", "--image-size", "28"])
    XCTAssertEqual(r.status, 0, r.err)
    let fm = FileManager.default
    for f in [
      "model_index.json", "scheduler/scheduler_config.json", "unet/config.json",
      "unet/diffusion_pytorch_model.safetensors",
      "model.safetensors", "metrics.jsonl", "loss.png", "samples/epoch-001.png",
    ] {
      XCTAssertTrue(fm.fileExists(atPath: r.dir + "/" + f), "missing \(f)\n\(r.out)\(r.err)")
    }
    let pipe = try DDIMPipeline.from(directory: r.dir)
    XCTAssertEqual(pipe.unet.config.sampleSize, [28, 28])
    XCTAssertEqual(pipe.unet.config.inChannels, 1)
    XCTAssertNil(pipe.unet.config.numClassEmbeds)
    XCTAssertEqual(pipe.scheduler.config.predictionType, .vPrediction)
    XCTAssertEqual(pipe.scheduler.config.numTrainTimesteps, 50)
    // unet/ holds the EMA weights, model.safetensors the raw ones: after two steps they differ.
    let raw = try SafeTensors.load(r.dir + "/model.safetensors")
    XCTAssertNotEqual(raw["conv_in.weight"]?.toArray(Float.self), pipe.unet.convIn.weight.toArray(Float.self))
    let lines = try String(contentsOfFile: r.dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    XCTAssertGreaterThanOrEqual(lines.filter { $0.contains("\"loss\"") }.count, 2)
    XCTAssertTrue(lines.contains { $0.contains("\"eval_loss\"") }, "evaluation on the test images is logged")

    let png = dir + "/s.png"
    let s = try loom(["sample", "--model", r.dir, "--num-inference-steps", "2", "--num-images", "2", "--output", png])
    XCTAssertEqual(s.status, 0, s.err)
    XCTAssertTrue(fm.fileExists(atPath: png))
    // Guidance needs a class-conditional model.
    let g = try loom(["sample", "--model", r.dir, "--guidance-scale", "2", "--output", png])
    XCTAssertNotEqual(g.status, 0)
    XCTAssertTrue(g.err.contains("needs a class-conditional model"), g.err)
  }

  func testClassConditionalRunSamplesWithGuidance() throws {
    let r = try train(["--class-conditional", "--ema-decay", "0"])
    XCTAssertEqual(r.status, 0, r.err)
    let pipe = try DDIMPipeline.from(directory: r.dir)
    XCTAssertEqual(pipe.unet.config.numClassEmbeds, 11, "ten classes plus the null label")
    XCTAssertEqual(pipe.unet.config.sampleSize, [32, 32])
    // Without EMA the folder holds the trained weights.
    let raw = try SafeTensors.load(r.dir + "/model.safetensors")
    XCTAssertEqual(raw["conv_in.weight"]?.toArray(Float.self), pipe.unet.convIn.weight.toArray(Float.self))
    let out = dir + "/g.safetensors"
    let s = try loom([
      "sample", "--model", r.dir, "--scheduler", "ddim", "--num-inference-steps", "2", "--guidance-scale", "3",
      "--class-labels", "0,9", "--output", out,
    ])
    XCTAssertEqual(s.status, 0, s.err)
    XCTAssertEqual(try SafeTensors.load(out)["images"]?.shape, [2, 1, 32, 32])
    let bad = try loom([
      "sample", "--model", r.dir, "--guidance-scale", "3", "--class-labels", "10", "--output", out,
    ])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("class label 10 is out of range 0..<10"), bad.err)
  }

  func testDiTRunWritesATransformerPipelineThatSamples() throws {
    let r = try train([
      "--model", "dit", "--class-conditional", "--learn-sigma", "--num-layers", "1", "--num-attention-heads", "2",
      "--attention-head-dim", "8", "--patch-size", "4", "--image-size", "28",
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let index =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: r.dir + "/model_index.json"))) as? [String: Any]
    XCTAssertEqual(index?["_class_name"] as? String, "DiTPipeline")
    XCTAssertEqual(index?["transformer"] as? [String], ["diffusers", "DiTTransformer2DModel"])
    let dit = try DiTTransformer2DModel.from(directory: r.dir + "/transformer")
    XCTAssertEqual(dit.config.numEmbedsAdaNorm, 10)
    XCTAssertEqual(dit.config.resolvedOutChannels, 2, "learn_sigma doubles the output channels")
    XCTAssertTrue(FileManager.default.fileExists(atPath: r.dir + "/samples/epoch-001.png"), r.out)
    let out = dir + "/dit.safetensors"
    let s = try loom([
      "sample", "--model", r.dir, "--num-inference-steps", "2", "--guidance-scale", "2", "--class-labels", "3,7",
      "--output", out,
    ])
    XCTAssertEqual(s.status, 0, s.err)
    XCTAssertEqual(try SafeTensors.load(out)["images"]?.shape, [2, 1, 28, 28], "the variance channels are dropped")
  }

  func testBadInputIsAClearError() throws {
    let cases: [([String], String)] = [
      (["--image-size", "29"], "cannot be halved 1 times"),
      (["--image-size", "20"], "28...1024"),
      (["--prediction-type", "sample"], "epsilon or v_prediction"),
      (["--beta-schedule", "cubic"], "--beta-schedule must be one of"),
      (["--model", "gan"], "--model must be unet, dit or a pipeline folder"),
      (["--dataset", "cifar10"], "--dataset must be fashion-mnist or mnist"),
      (["--label-dropout", "1"], "--label-dropout must be in [0, 1)"),
      (["--ema-decay", "1.5"], "--ema-decay must be in [0, 1]"),
      (["--model", "dit"], "pass --class-conditional"),
      (["--model", "dit", "--class-conditional", "--patch-size", "3"], "multiple of patch_size 3"),
    ]
    for (extra, message) in cases {
      let r = try train(extra)
      XCTAssertNotEqual(r.status, 0, "\(extra)")
      XCTAssertTrue(r.err.contains(message), "\(extra): \(r.err)")
    }
  }
}
