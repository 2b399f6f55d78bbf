import Foundation
import LoomCore
import LoomDiffusion
import LoomIO
import LoomTestSupport
import XCTest

/// `loom train gan`: tiny runs write every file; bad flags fail before any work.
final class GANCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-gan-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func requireData() throws {
    let path = FashionMNIST.defaultDirectory + "/train-images-idx3-ubyte.gz"
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("Fashion-MNIST is not installed (\(path))") }
  }

  func metrics(_ out: String) throws -> [[String: Any]] {
    let text = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
    return try text.split(separator: "\n").map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
  }

  func testTinyDCGANRunWritesGridsMetricsPlotAndBothNetworks() throws {
    try requireData()
    let out = dir + "/dcgan"
    let r = try loom([
      "train", "gan", "--variant", "dcgan", "--train-limit", "32", "--batch-size", "16", "--epochs", "2",
      "--features", "4", "--latent-dim", "8", "--logging-steps", "2", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let fm = FileManager.default
    for f in [
      "metrics.jsonl", "loss.png", "samples.png", "samples/epoch-001.png", "samples/epoch-002.png",
      "generator/model.safetensors", "generator/config.json", "discriminator/model.safetensors", "discriminator/config.json",
    ] {
      XCTAssertTrue(fm.fileExists(atPath: out + "/" + f), f)
    }
    let rows = try metrics(out)
    XCTAssertEqual(rows.map { $0["step"] as? Double }, [2, 4])
    for row in rows {
      XCTAssertTrue((row["loss_d"] as? Double).map { $0 > 0 && $0.isFinite } ?? false, "\(row)")
      XCTAssertNotNil(row["loss_g"] as? Double)
    }
    let g = try SafeTensors.load(out + "/generator/model.safetensors")
    XCTAssertEqual(g["main.0.weight"]?.shape, [8, 16, 7, 7])
    let config = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/discriminator/config.json")))
        as? [String: Any])
    XCTAssertEqual(config["variant"] as? String, "dcgan")
    XCTAssertEqual(config["latent_dim"] as? Int, 8)

    // Loaded back: `loom sample` runs the saved generator on latents from --seed, exactly as the
    // generator loaded here computes them; a PNG grid too; diffusion-only flags are refused.
    let sampled = dir + "/samples.safetensors"
    let s = try loom(["sample", "--model", out, "--num-images", "4", "--seed", "3", "--output", sampled])
    XCTAssertEqual(s.status, 0, s.err)
    let images = try XCTUnwrap(try SafeTensors.load(sampled)["images"])
    XCTAssertEqual(images.shape, [4, 1, 28, 28])
    let generator = try GANFiles.loadGenerator(directory: out + "/generator")
    let want = noGrad { generator(Tensor.randn([4, 8], generator: Generator(seed: 3)), labels: nil) }
    let worst = zip(images.floats, want.floats).map { abs($0 - $1) }.max()!
    XCTAssertLessThanOrEqual(worst, 1e-6)
    XCTAssertLessThanOrEqual(images.floats.map(abs).max()!, 1, "tanh range")
    let png = try loom(["sample", "--model", out + "/generator", "--output", dir + "/grid.png"])
    XCTAssertEqual(png.status, 0, png.err)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/grid.png"))
    let refused = try loom(["sample", "--model", out, "--guidance-scale", "2", "--output", dir + "/x.png"])
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.err.contains("--guidance-scale applies to diffusion pipelines"), refused.err)
  }

  func testWGANGPClassConditionalLogsWassersteinAndGradientNorm() throws {
    try requireData()
    let out = dir + "/wgan-gp"
    let r = try loom([
      "train", "gan", "--variant", "wgan-gp", "--class-conditional", "--train-limit", "16", "--batch-size", "8",
      "--max-steps", "2", "--n-critic", "2", "--features", "2", "--latent-dim", "4", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let row = try XCTUnwrap(try metrics(out).last)
    for key in ["wasserstein_distance", "gradient_norm", "gradient_penalty", "loss_d", "loss_g"] {
      XCTAssertNotNil(row[key] as? Double, "\(key) in \(row)")
    }
    XCTAssertGreaterThan(row["gradient_norm"] as! Double, 0)
    let d = try SafeTensors.load(out + "/discriminator/model.safetensors")
    XCTAssertEqual(d["main.3.weight"]?.shape, [4, 7, 7])  // LayerNorm over [C, H, W]
    XCTAssertEqual(d["label_emb.weight"]?.shape, [10, 784])

    // A class-conditional generator samples the labels asked for; labels outside 0..<10 are refused,
    // as is a --noise tensor of the wrong latent size.
    let sampled = dir + "/labelled.safetensors"
    let s = try loom(["sample", "--model", out, "--class-labels", "3,7", "--output", sampled])
    XCTAssertEqual(s.status, 0, s.err)
    XCTAssertEqual(try SafeTensors.load(sampled)["images"]?.shape, [2, 1, 28, 28])
    let bad = try loom(["sample", "--model", out, "--class-labels", "12", "--output", sampled])
    XCTAssertTrue(bad.err.contains("class label 12 is out of range 0..<10"), bad.err)
    let noise = dir + "/noise.safetensors"
    try SafeTensors.save(["noise": Tensor.zeros([2, 5])], to: noise)
    let wrong = try loom(["sample", "--model", out, "--noise", noise, "--output", sampled])
    XCTAssertTrue(wrong.err.contains("`noise` must be [2, 4] latents for this GAN, found [2, 5]"), wrong.err)
  }

  func testBadInputFailsBeforeWork() throws {
    let out = dir + "/bad"
    let cases: [([String], String)] = [
      (["--variant", "stylegan"], "--variant must be one of gan, dcgan, wgan, wgan-gp"),
      (["--variant", "dcgan", "--clip", "0.01"], "--clip applies to --variant wgan only"),
      (["--variant", "wgan-gp", "--gp-lambda", "0"], "--gp-lambda must be a finite number > 0"),
      (["--variant", "wgan-gp", "--gp-lambda", "-1"], "--gp-lambda must be a finite number > 0"),
      (["--variant", "wgan", "--n-critic", "0"], "--n-critic must be in 1...1000"),
      (["--data-dir", dir + "/nowhere"], "no fashion-mnist training images in"),
      (["--dataset", "cifar10"], "--dataset must be fashion-mnist or mnist"),
    ]
    for (flags, message) in cases {
      let r = try loom(["train", "gan"] + flags + ["--output-dir", out])
      XCTAssertNotEqual(r.status, 0, "\(flags)")
      XCTAssertTrue(r.err.contains(message), "\(flags): \(r.err)")
      XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(flags) created the output directory")
    }
  }
}
