import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomPlot
import LoomTestSupport
import XCTest

/// `loom train ae|dae|vae` end to end on a slice of Fashion-MNIST, and its bad-input errors.
final class AutoencoderCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-ae-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  func requireData() throws {
    let path = FashionMNIST.defaultDirectory + "/train-images-idx3-ubyte.gz"
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("Fashion-MNIST is not installed (\(path))") }
  }

  func metrics(_ out: String) throws -> [[String: Double]] {
    try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Double] }
  }

  func testTrainAutoencoderWritesEverything() throws {
    try requireData()
    let out = dir + "/ae"
    let r = try loom(["train", "ae", "--epochs", "2", "--train-limit", "2000", "--test-limit", "300", "--output-dir", out])
    XCTAssertEqual(r.status, 0, r.err)
    let rows = try metrics(out)
    XCTAssertEqual(rows.map { $0["epoch"]! }, [1, 2])
    XCTAssertLessThan(rows[1]["test_loss"]!, rows[0]["test_loss"]!)
    XCTAssertLessThan(rows[1]["test_loss"]!, 0.1, "the MSE of a trained AE is far below the 0.17 of an untrained one")
    XCTAssertNotNil(rows[0]["train_loss"])
    // The weights load back into the seeds' model with PyTorch's names.
    let weights = try SafeTensors.load(out + "/model.safetensors")
    XCTAssertEqual(weights.values.reduce(0) { $0 + $1.count }, 224_601)
    try Autoencoder().loadStateDict(weights)
    let loss = try DecodedPNG(path: out + "/loss.png")
    XCTAssertEqual([loss.width, loss.height], [900, 560])
    let grid = try DecodedPNG(path: out + "/reconstructions.png")
    XCTAssertGreaterThan(grid.width, 10 * 28 * 3, "ten images per row at scale 3")
    XCTAssertGreaterThan(grid.height, 2 * 28 * 3, "originals above reconstructions")
    let latent = try DecodedPNG(path: out + "/latent.png")
    XCTAssertEqual([latent.width, latent.height], [860, 680])
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["model_type"] as? String, "ae")
    // The torchsummary table and the autograd graph with PyTorch's parameter names.
    let table = try String(contentsOfFile: out + "/summary.txt", encoding: .utf8)
    XCTAssertTrue(table.contains("Total params: 224,601"), table)
    let dot = try String(contentsOfFile: out + "/graph.dot", encoding: .utf8)
    XCTAssertTrue(dot.hasPrefix("digraph"), dot)
    for name in ["encoder.0.weight", "decoder.8.bias"] { XCTAssertTrue(dot.contains(name), "\(name) in graph.dot") }
    // The graph ends at the loss (MSE: the difference to the target, squared, averaged), not at the output.
    for op in ["SubBackward", "PowBackward", "SumBackward"] { XCTAssertTrue(dot.contains(op), "\(op) in graph.dot") }
    if GraphViz.dotExecutable() != nil {
      let graph = try DecodedPNG(path: out + "/graph.png")
      XCTAssertGreaterThan(graph.height, 200)
    }
  }

  func testSummaryCommand() throws {
    let ae = try loom(["summary", "ae"])
    XCTAssertEqual(ae.status, 0, ae.err)
    let lines = ae.out.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.filter { $0.contains("Linear-") }.count, 10)
    XCTAssertTrue(lines.contains { $0.hasSuffix("[-1, 784]               0") && $0.contains("Sigmoid-19") }, ae.out)
    XCTAssertTrue(ae.out.contains("Total params: 224,601\nTrainable params: 224,601\nNon-trainable params: 0"), ae.out)
    let vae = try loom(["summary", "vae", "--batch-size", "16"])
    XCTAssertEqual(vae.status, 0, vae.err)
    // PyTorch's VAE example: fc1 784→400, fc21/fc22 400→20, fc3 20→400, fc4 400→784.
    XCTAssertTrue(vae.out.contains("[16, 400]"), vae.out)
    XCTAssertTrue(vae.out.contains("Total params: 652,824"), vae.out)
    let conv = try loom(["summary", "conv-vae"])
    XCTAssertEqual(conv.status, 0, conv.err)
    XCTAssertTrue(conv.out.contains("Conv2d-1"), conv.out)
    let bad = try loom(["summary", "gan"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("unknown model 'gan'"), bad.err)
  }

  func testTrainVAEAndDAE() throws {
    try requireData()
    let vae = dir + "/vae"
    let r = try loom(["train", "vae", "--epochs", "1", "--train-limit", "1024", "--test-limit", "256", "--latent-dim", "2", "--output-dir", vae])
    XCTAssertEqual(r.status, 0, r.err)
    let row = try metrics(vae)[0]
    XCTAssertEqual(row["test_elbo"]!, -(row["test_recon_loss"]! + row["test_kl_loss"]!), accuracy: 1e-3)
    XCTAssertLessThan(row["test_loss"]!, 543.4, "below the BCE of predicting 0.5 everywhere (784·ln 2)")
    let samples = try DecodedPNG(path: vae + "/samples.png")
    XCTAssertGreaterThan(samples.width, 8 * 28 * 3)
    XCTAssertTrue(FileManager.default.fileExists(atPath: vae + "/latent.png"))
    let dae = dir + "/dae"
    let d = try loom(["train", "dae", "--epochs", "1", "--train-limit", "512", "--test-limit", "128", "--noise", "gaussian:0.3", "--output-dir", dae])
    XCTAssertEqual(d.status, 0, d.err)
    let grid = try DecodedPNG(path: dae + "/reconstructions.png")
    XCTAssertGreaterThan(grid.height, 3 * 28 * 3, "originals, noisy inputs and reconstructions")
  }

  func testBadInputGetsClearErrors() throws {
    let out = dir + "/bad"
    let cases: [([String], String)] = [
      (["train", "ae", "--batch-size", "0", "--output-dir", out], "--batch-size must be at least 1"),
      (["train", "ae", "--optimizer", "lion", "--output-dir", out], "--optimizer must be adam, adamw or sgd"),
      (["train", "ae", "--epochs", "0", "--output-dir", out], "--epochs must be at least 1"),
      (["train", "ae", "--data-dir", dir + "/nowhere", "--output-dir", out], "dataset-fashion-mnist"),
      (["train", "dae", "--noise", "salt:0.2", "--output-dir", out], "noise"),
      (["train", "vae", "--reconstruction", "l1", "--output-dir", out], "--reconstruction must be bce or mse"),
    ]
    for (args, expected) in cases {
      let r = try loom(args)
      XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
      XCTAssertTrue(r.err.contains(expected), "\(args.joined(separator: " ")): \(r.err)")
    }
    try requireData()
    let r = try loom(["train", "ae", "--train-limit", "100", "--batch-size", "128", "--output-dir", out])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("larger than the 100 training images"), r.err)
  }
}
