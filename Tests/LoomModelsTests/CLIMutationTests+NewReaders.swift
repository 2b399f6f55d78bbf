import Foundation
import XCTest

/// The readers added after the first rounds of the mutation test (issue 13: "bad input in the new code paths gets
/// the same treatment"), each through the CLI command that reads it: diffusers' pipeline files through `loom sample`,
/// the cage's config through `loom cage check --config`, adapter_config.json through `loom generate --adapter` and
/// preference JSON lines through `loom train dpo|reward`. Seeds are the fuzz corpora and the fixtures of the test
/// targets that own those readers (read by path: this target does not link them).
extension CLIMutationTests {
  static var diffusionFixtures: String { repository + "/Tests/LoomDiffusionTests/Fixtures" }
  static var dpoFixtures: String { repository + "/Tests/LoomPostTrainTests/Fixtures/dpo" }

  /// The unmutated files must run (so the mutants reach past the reader when they parse).
  func assertSeedRuns(_ args: [String], ok: Set<Int32> = [0]) throws {
    let o = try Self.runLimited(args)
    XCTAssertTrue(ok.contains(o.status) && !o.signaled, "\(args): exit \(o.status): \(o.err)")
  }

  // MARK: - diffusers: model_index.json, scheduler_config.json, UNet2DModel / DiTTransformer2DModel config.json

  /// A pipeline folder of the tiny U-Net (DDIMPipeline's layout) or the tiny DiT (DiTPipeline's: transformer/).
  static func writePipeline(_ d: String, dit: Bool) throws {
    let fm = FileManager.default
    let component = dit ? "transformer" : "unet"
    try fm.createDirectory(atPath: d + "/scheduler", withIntermediateDirectories: true)
    try fm.copyItem(atPath: diffusionFixtures + (dit ? "/dit-tiny" : "/unet2d-tiny"), toPath: d + "/" + component)
    try fm.copyItem(
      atPath: diffusionFixtures + "/ddim-scheduler/scheduler_config.json", toPath: d + "/scheduler/scheduler_config.json")
    let denoiser = dit ? #""transformer": ["diffusers", "DiTTransformer2DModel"]"# : #""unet": ["diffusers", "UNet2DModel"]"#
    let index = """
      {"_class_name": "\(dit ? "DiTPipeline" : "DDIMPipeline")", "_diffusers_version": "0.42.1", \
      "scheduler": ["diffusers", "DDIMScheduler"], \(denoiser)}
      """
    try index.write(toFile: d + "/model_index.json", atomically: true, encoding: .utf8)
  }

  static func sample(_ d: String) -> [String] {
    ["sample", "--model", d, "--num-inference-steps", "2", "--num-images", "1", "--output", d + "/images.safetensors"]
  }

  func testMutatedDiffusersFilesThroughSample() throws {
    for dit in [false, true] {
      try Self.writePipeline(dir + "/seed-\(dit)", dit: dit)
      try assertSeedRuns(Self.sample(dir + "/seed-\(dit)"))
    }
    // Three file kinds; the denoiser's config.json alternates between the U-Net's and the DiT's.
    for (k, kind) in ["model_index.json", "scheduler_config.json", "config.json"].enumerated() {
      try runCLI(kind, cases: Self.cases) { i, d in
        let dit = i % 2 == 1
        try Self.writePipeline(d, dit: dit)
        let file =
          kind == "config.json" ? (dit ? "transformer" : "unet") + "/config.json"
          : kind == "model_index.json" ? kind : "scheduler/" + kind
        let seed = Array(try Data(contentsOf: URL(fileURLWithPath: d + "/" + file)))
        try Self.write(Self.mutant(seed, i, salt: 18 + UInt64(k)), d + "/" + file)
        return Self.sample(d)
      }
    }
  }

  // MARK: - the cage's config file

  func testMutatedCageConfigsThroughCageCheck() throws {
    let named = try Self.namedSeeds("cage-config")
    let seeds = named.map(\.bytes)
    XCTAssertGreaterThanOrEqual(seeds.count, 4)
    let answer = dir + "/answer.c"
    try "/* mail jane@example.com */\nint main(void) { char b[8]; gets(b); return 0; }\n".write(
      toFile: answer, atomically: true, encoding: .utf8)
    // Exit 1 is "findings" (the report is on standard output); a cage file that does not load exits 2 with a message.
    for (k, (name, bytes)) in named.enumerated() {
      let seed = dir + "/seed-\(k).json"
      try Self.write(bytes, seed)
      let args = ["cage", "check", "--config", seed, "--file", answer]
      if name.hasPrefix("classifier") {
        // Its model directory is not there: a usage error naming it.
        let o = try Self.runLimited(args)
        XCTAssertTrue(o.status == 2 && o.err.contains("guard-model"), o.err)
      } else {
        try assertSeedRuns(args, ok: [0, 1])
      }
    }
    try runCLI("cage config", cases: Self.cases, ok: [0, 1]) { i, d in
      try Self.write(Self.mutant(seeds[i % seeds.count], i, salt: 21), d + "/cage.json")
      return ["cage", "check", "--config", d + "/cage.json", "--file", answer, "--format", i % 2 == 0 ? "json" : "text"]
    }
  }

  // MARK: - adapter_config.json

  func testMutatedAdapterConfigsThroughGenerate() throws {
    // The tiny GPT-2 with a 97-character vocabulary (printable ASCII and the newline the text file ends with), then a
    // LoRA and a prompt-tuning adapter trained on it.
    let base = dir + "/base"
    try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    for f in ["config.json", "model.safetensors"] {
      try FileManager.default.copyItem(atPath: Self.fixtures + "/gpt2-tiny/" + f, toPath: base + "/" + f)
    }
    try JSONEncoder().encode((32..<127).map { String(UnicodeScalar(UInt8($0))) } + ["\n"]).write(
      to: URL(fileURLWithPath: base + "/char_vocab.json"))
    try String(repeating: "abc defg hab. ", count: 40).write(toFile: dir + "/chars.txt", atomically: true, encoding: .utf8)
    let train = [
      "train", "gpt", "--model", base, "--data", dir + "/chars.txt", "--block-size", "8", "--max-steps", "1",
      "--save-strategy", "no", "--validation-fraction", "0", "--samples", "0",
    ]
    let adapters = [dir + "/lora", dir + "/prompt"]
    try assertSeedRuns(train + ["--lora-r", "2", "--output-dir", adapters[0]])
    try assertSeedRuns(train + ["--prompt-tuning-virtual-tokens", "4", "--output-dir", adapters[1]])
    let generate = ["generate", "--model", base, "--prompt", "ab", "--max-new-tokens", "2"]
    for a in adapters { try assertSeedRuns(generate + ["--adapter", a]) }
    let configs = try adapters.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0 + "/adapter_config.json"))) }
    try runCLI("adapter_config.json", cases: Self.cases) { i, d in
      let k = i % adapters.count
      try FileManager.default.copyItem(
        atPath: adapters[k] + "/adapter_model.safetensors", toPath: d + "/adapter_model.safetensors")
      try Self.write(Self.mutant(configs[k], i, salt: 22), d + "/adapter_config.json")
      return generate + ["--adapter", d]
    }
  }

  // MARK: - preference JSON lines

  func testMutatedPreferenceDataThroughTrainDPOAndReward() throws {
    let seeds = try Self.namedSeeds("preference").filter { $0.name.hasPrefix("prefs") || $0.name.hasPrefix("reward") }
    XCTAssertGreaterThanOrEqual(seeds.count, 3)
    func train(_ i: Int, _ data: String, _ d: String) -> [String] {
      // DPO on even cases, a reward model on odd ones (which also takes rows without a prompt).
      let (command, model) = i % 2 == 0 ? ("dpo", "/policy") : ("reward", "/reward")
      return [
        "train", command, "--model", Self.dpoFixtures + model, "--data", data, "--max-steps", "1", "--batch-size", "2",
        "--save-strategy", "no", "--output-dir", d + "/out",
      ]
    }
    try assertSeedRuns(train(0, Self.dpoFixtures + "/prefs.jsonl", dir + "/dpo"))
    try assertSeedRuns(train(1, Self.dpoFixtures + "/prefs-margin.jsonl", dir + "/reward"))
    try runCLI("preference JSON lines", cases: Self.cases) { i, d in
      let seed = seeds[i % seeds.count]
      try Self.write(Self.mutant(seed.bytes, i, salt: 23), d + "/" + seed.name)
      return train(i, d + "/" + seed.name, d)
    }
  }

  // MARK: - a saved GAN's generator/config.json

  /// `loom sample --model DIR` on a GAN Loom trained: the seed config describes the weights beside it, the
  /// mutants' sizes are checked against them (WeightsSizeCheck) before the generator is built.
  func testMutatedGANConfigsThroughSample() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") else {
      throw XCTSkip("needs Fashion-MNIST (scripts/install.sh)")
    }
    let gan = dir + "/gan"
    try assertSeedRuns([
      "train", "gan", "--variant", "dcgan", "--train-limit", "16", "--batch-size", "16", "--epochs", "1",
      "--features", "4", "--latent-dim", "8", "--class-conditional", "--output-dir", gan,
    ])
    let seed = Array(try Data(contentsOf: URL(fileURLWithPath: gan + "/generator/config.json")))
    let sample = { (d: String) in ["sample", "--model", d, "--num-images", "1", "--output", d + "/x.safetensors"] }
    try assertSeedRuns(sample(gan))
    try runCLI("GAN config.json", cases: Self.cases) { i, d in
      try FileManager.default.createDirectory(atPath: d + "/generator", withIntermediateDirectories: true)
      try FileManager.default.copyItem(
        atPath: gan + "/generator/model.safetensors", toPath: d + "/generator/model.safetensors")
      try Self.write(Self.mutant(seed, i, salt: 24), d + "/generator/config.json")
      return sample(d)
    }
  }
}
