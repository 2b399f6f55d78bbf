import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

/// The training flags every `loom train …` shares: HF names and aliases, early errors
/// with the right usage line, --model and --device.
final class TrainCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-train-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  func jsonLines(_ path: String) throws -> [[String: Double]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
      .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Double] }
  }

  /// Flag mistakes are reported before any data or model is read (the data paths here do
  /// not exist, so a later check would report them instead), with the subcommand's usage.
  func testBadFlagsAreReportedBeforeLoadingWithTheRightUsage() throws {
    let missing = dir + "/missing.txt"
    let full = dir + "/full"
    try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
    try "x".write(toFile: full + "/notes.txt", atomically: true, encoding: .utf8)
    let cases: [([String], String, String)] = [
      (
        [
          "train", "gpt", "--data", missing, "--char", "--lr-scheduler-type", "zigzag",
          "--output-dir", dir + "/a",
        ],
        "unknown lr_scheduler_type 'zigzag'; valid values: linear, cosine", "loom train gpt"
      ),
      (
        [
          "train", "gpt", "--data", missing, "--char", "--optim", "lion", "--output-dir",
          dir + "/a",
        ],
        "unknown optim 'lion'; valid values: adamw_torch, adam, sgd, adafactor", "loom train gpt"
      ),
      (
        ["train", "gpt", "--data", missing, "--char", "--output-dir", full],
        "already exists and is not empty", "loom train gpt"
      ),
      (
        [
          "train", "gpt", "--data", missing, "--char", "--lr", "1e-3", "--learning-rate", "1e-3",
          "--output-dir", dir + "/a",
        ],
        "--lr is short for --learning-rate", "loom train gpt"
      ),
      (
        [
          "train", "gpt", "--data", missing, "--char", "--device", "tpu", "--output-dir",
          dir + "/a",
        ], "--device", "loom train gpt"
      ),
      (
        [
          "train", "gpt", "--data", missing, "--model", dir + "/nomodel", "--output-dir",
          dir + "/a",
        ], "is not a directory",
        "loom train gpt"
      ),
      (
        [
          "train", "ae", "--data-dir", dir + "/nowhere", "--optim", "lion", "--output-dir",
          dir + "/b",
        ], "unknown optim 'lion'",
        "loom train ae"
      ),
      (
        [
          "train", "vae", "--data-dir", dir + "/nowhere", "--lr-scheduler-type", "zigzag",
          "--output-dir", dir + "/b",
        ],
        "unknown lr_scheduler_type", "loom train vae"
      ),
      (
        ["train", "dae", "--data-dir", dir + "/nowhere", "--output-dir", full],
        "already exists and is not empty", "loom train dae"
      ),
      (
        [
          "train", "gpt", "--data", missing, "--char", "--resume-from-checkpoint", "latest",
          "--output-dir", dir + "/a",
        ], "no checkpoint-N directory", "loom train gpt"
      ),
    ]
    for (args, message, usage) in cases {
      let r = try loom(args)
      XCTAssertNotEqual(r.status, 0, "\(args) should fail")
      XCTAssertTrue(r.err.contains(message), "\(args): expected '\(message)' in: \(r.err)")
      XCTAssertTrue(
        r.err.contains("Usage: \(usage) "), "\(args): expected the usage of '\(usage)' in: \(r.err)"
      )
      XCTAssertFalse(
        r.err.contains("cannot read --data") || r.err.contains("dataset-fashion-mnist"),
        "\(args): loaded data first")
    }
    // A data error found while running names no usage line at all (not the root's).
    let r = try loom(["train", "gpt", "--data", missing, "--char", "--output-dir", dir + "/c"])
    XCTAssertTrue(r.err.contains("cannot read --data file"), r.err)
    XCTAssertFalse(r.err.contains("Usage:"), r.err)
  }

  /// Fine-tunes the saved tiny GPT-2 (an HF save_pretrained directory, given a character
  /// vocabulary) through the CLI with the short aliases, on --device cpu.
  func testFineTuneASavedGPT2WithModelFlag() throws {
    let fixture =
      Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/gpt2-tiny"
    let pretrained = dir + "/pretrained"
    try FileManager.default.copyItem(atPath: fixture, toPath: pretrained)
    let text = String(repeating: "to be or not to be, that is the question.\n", count: 40)
    let chars = Array(Set(text.unicodeScalars.map { String($0) })).sorted()
    try JSONEncoder().encode(chars).write(to: URL(fileURLWithPath: pretrained + "/char_vocab.json"))
    let corpus = dir + "/corpus.txt"
    try text.write(toFile: corpus, atomically: true, encoding: .utf8)
    let out = dir + "/tuned"
    let r = try loom([
      "train", "gpt", "--data", corpus, "--model", pretrained, "--device", "cpu", "--max-steps",
      "4", "--lr", "1e-3",
      "--batch-size", "2", "--block-size", "16", "--logging-steps", "2", "--eval-steps", "4",
      "--save-steps", "4",
      "--samples", "0", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains("starting from \(pretrained)"), r.out)
    XCTAssertTrue(r.out.contains("2 layers, 4 heads, width 32"), r.out)
    let args =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/checkpoint-4/training_args.json")))
      as! [String: Any]
    XCTAssertEqual(args["learning_rate"] as? Double, 1e-3)
    XCTAssertEqual(args["per_device_train_batch_size"] as? Int, 2)
    XCTAssertEqual(args["optim"] as? String, "adamw_torch")
    let before = try SafeTensors.load(pretrained + "/model.safetensors")
    let after = try SafeTensors.load(out + "/model.safetensors")
    let key = "transformer.h.0.attn.c_attn.weight"
    let a = before[key]!.floats
    let b = after[key]!.floats
    XCTAssertEqual(a.count, b.count)
    XCTAssertNotEqual(a, b, "the weights moved")
    XCTAssertLessThan(
      zip(a, b).map { abs($0 - $1) }.max()!, 0.05, "4 small steps from the pretrained weights")
    let logs = try jsonLines(out + "/metrics.jsonl")
    XCTAssertEqual(logs.compactMap { $0["loss"] }.count, 2)
    let eval = logs.first { $0["eval_loss"] != nil }!
    XCTAssertEqual(
      eval["eval_perplexity"]!, Foundation.exp(eval["eval_loss"]!),
      accuracy: 1e-6 * eval["eval_perplexity"]!)
    XCTAssertTrue(
      r.err.contains("{'eval_loss': "), "eval metrics printed under the progress bar: \(r.err)")
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/char_vocab.json"))
  }

  /// `--device emulated` (memory only its backend may touch) trains with the same losses,
  /// evaluation and weights as `--device cpu` for the same seed, and generates the same text.
  func testEmulatedDeviceTrainsLikeTheCPU() throws {
    let corpus = dir + "/corpus.txt"
    try String(repeating: "to be or not to be, that is the question.\n", count: 40)
      .write(toFile: corpus, atomically: true, encoding: .utf8)
    var runs: [(logs: [[String: Double]], weights: [Float], text: String)] = []
    for device in ["cpu", "emulated"] {
      let out = dir + "/" + device
      let r = try loom([
        "train", "gpt", "--data", corpus, "--char", "--preset", "tiny", "--block-size", "16", "--device", device,
        "--max-steps", "6", "--batch-size", "4", "--lr", "1e-3", "--logging-steps", "2", "--eval-steps", "6",
        "--save-steps", "6", "--seed", "5", "--samples", "0", "--output-dir", out,
      ])
      XCTAssertEqual(r.status, 0, r.err)
      let g = try loom(["generate", "--model", out, "--prompt", "to be", "--max-new-tokens", "12", "--device", device])
      XCTAssertEqual(g.status, 0, g.err)
      let weights = try SafeTensors.load(out + "/model.safetensors")["transformer.h.0.attn.c_attn.weight"]!.floats
      runs.append((try jsonLines(out + "/metrics.jsonl").map { $0.filter { !$0.key.hasSuffix("per_second") } }, weights, g.out))
    }
    XCTAssertEqual(runs[0].logs.compactMap { $0["loss"] }.count, 3)
    XCTAssertEqual(runs[0].logs, runs[1].logs)
    XCTAssertEqual(runs[0].weights, runs[1].weights)
    XCTAssertEqual(runs[0].text, runs[1].text)
  }

  /// The autoencoders take the HF names too, start from a saved model, and report no
  /// perplexity for a VAE.
  func testAutoencodersTakeTheSharedFlagsAndModel() throws {
    guard
      FileManager.default.fileExists(
        atPath: FashionMNIST.defaultDirectory + "/train-images-idx3-ubyte.gz")
    else {
      throw XCTSkip("Fashion-MNIST is not installed")
    }
    let first = dir + "/vae"
    let r = try loom([
      "train", "vae", "--num-train-epochs", "1", "--per-device-train-batch-size", "64",
      "--learning-rate", "1e-3",
      "--train-limit", "256", "--test-limit", "64", "--latent-dim", "4", "--output-dir", first,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let log = try jsonLines(first + "/trainer_log.jsonl")
    XCTAssertTrue(log.contains { $0["eval_loss"] != nil })
    XCTAssertFalse(log.contains { $0["eval_perplexity"] != nil }, "\(log)")
    // Resuming for a second epoch continues the logs without repeating the first.
    let resumed = try loom([
      "train", "vae", "--num-train-epochs", "2", "--per-device-train-batch-size", "64",
      "--learning-rate", "1e-3", "--train-limit", "256", "--test-limit", "64", "--latent-dim", "4",
      "--resume-from-checkpoint", "latest", "--output-dir", first,
    ])
    XCTAssertEqual(resumed.status, 0, resumed.err)
    XCTAssertEqual(try jsonLines(first + "/metrics.jsonl").map { $0["epoch"]! }, [1, 2])
    let steps = try jsonLines(first + "/trainer_log.jsonl").filter { $0["loss"] != nil }.map {
      $0["step"]!
    }
    XCTAssertEqual(steps, [4, 8])
    let tuned = dir + "/tuned"
    let t = try loom([
      "train", "vae", "--model", first, "--epochs", "1", "--batch-size", "64", "--optim",
      "adafactor", "--lr", "1e-3",
      "--train-limit", "256", "--test-limit", "64", "--output-dir", tuned,
    ])
    XCTAssertEqual(t.status, 0, t.err)
    XCTAssertTrue(t.out.contains("starting from \(first)"), t.out)
    // The saved latent size (4) wins over the flag's default (20).
    let config =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: tuned + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["latent_size"] as? Int ?? config["latent_dim"] as? Int, 4, "\(config)")
    let wrong = try loom([
      "train", "ae", "--model", first, "--train-limit", "64", "--output-dir", dir + "/ae",
    ])
    XCTAssertNotEqual(wrong.status, 0)
    XCTAssertTrue(
      wrong.err.contains("model_type is 'vae', but this command trains 'ae'"), wrong.err)
  }
}
