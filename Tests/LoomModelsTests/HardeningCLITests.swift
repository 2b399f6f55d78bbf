import Foundation
import LoomTestSupport
import XCTest

/// Issue #13 through the CLI: every bad flag is named before any work, NaN losses keep
/// the run (and its files) alive, --stop-on-nan keeps the last good checkpoint, and a
/// killed run resumes with no leftovers or repeated steps.
final class HardeningCLITests: XCTestCase {
  var dir: String!
  var corpus: String { dir + "/corpus.txt" }
  var config: String { dir + "/config.json" }

  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-hard-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try! String(repeating: "to be or not to be, that is the question.\n", count: 60)
      .write(toFile: corpus, atomically: true, encoding: .utf8)
    try! #"{"n_positions": 32, "n_embd": 32, "n_layer": 2, "n_head": 2, "resid_pdrop": 0, "embd_pdrop": 0, "attn_pdrop": 0}"#
      .write(toFile: config, atomically: true, encoding: .utf8)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func gpt(_ out: String, _ extra: [String]) -> [String] {
    [
      "train", "gpt", "--data", corpus, "--char", "--config", config, "--per-device-train-batch-size", "4",
      "--samples", "0", "--output-dir", out,
    ] + extra
  }

  func rows(_ path: String) throws -> [[String: Any]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
      .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
  }

  /// Each flag on main either trapped, divided by zero, was silently accepted, failed after
  /// training or named another flag. Here each fails at once (the data file does not exist,
  /// so a later failure would name it) with the flag as typed.
  func testEveryBadFlagIsNamedBeforeAnyWork() throws {
    let missing = ["train", "gpt", "--data", dir + "/missing.txt", "--char", "--output-dir", dir + "/o"]
    let nomodel = ["generate", "--model", dir + "/nomodel", "--prompt", "to"]
    let cases: [([String], String)] = [
      (missing + ["--eval-steps", "0"], "--eval-steps must be >= 1, got 0"),
      (missing + ["--eval-steps=-1"], "--eval-steps must be >= 1, got -1"),
      (missing + ["--num-train-epochs", "nan"], "--num-train-epochs must be a number in [0, 1e9], got nan"),
      (missing + ["--num-train-epochs", "inf"], "--num-train-epochs must be a number in [0, 1e9], got inf"),
      (missing + ["--samples=-1"], "--samples must be >= 0, got -1"),
      (missing + ["--adam-beta1", "1.5"], "--adam-beta1 must be in [0, 1), got 1.5"),
      (missing + ["--adam-beta2", "nan"], "--adam-beta2 must be in [0, 1), got nan"),
      (missing + ["--weight-decay=-1"], "--weight-decay must be a finite number >= 0, got -1.0"),
      (missing + ["--warmup-steps=-1"], "--warmup-steps must be >= 0, got -1"),
      (missing + ["--warmup-steps", "-1"], "--warmup-steps must be >= 0, got -1"),
      (missing + ["--lr", "inf"], "--lr must be a finite number >= 0, got inf"),
      (missing + ["--learning-rate", "nan"], "--learning-rate must be a finite number >= 0, got nan"),
      (missing + ["--adam-epsilon", "-1"], "--adam-epsilon must be a finite number >= 0, got -1.0"),
      (missing + ["--max-grad-norm", "nan"], "--max-grad-norm must be a finite number >= 0, got nan"),
      (missing + ["--logging-steps", "0"], "--logging-steps must be >= 1, got 0"),
      (missing + ["--save-steps", "0"], "--save-steps must be >= 1, got 0"),
      (missing + ["--per-device-eval-batch-size", "0"], "--per-device-eval-batch-size must be >= 1, got 0"),
      (missing + ["--gradient-accumulation-steps", "-2"], "--gradient-accumulation-steps must be >= 1, got -2"),
      (missing + ["--max-steps", "-5"], "--max-steps must be > 0, or -1"),
      (missing + ["--sgd-momentum", "inf"], "--sgd-momentum must be a finite number >= 0, got inf"),
      (missing + ["--block-size", "1"], "--block-size must be >= 2, got 1"),
      (missing + ["--preset", "tiny", "--block-size", "129"], "--block-size 129 exceeds the model's n_positions (128)"),
      (missing + ["--preset", "huge"], "--preset: unknown preset 'huge'"),
      (missing + ["--sample-temperature", "nan"], "--sample-temperature must be a finite number > 0, got nan"),
      (missing + ["--sample-top-k", "-1"], "--sample-top-k must be >= 0"),
      (missing + ["--sample-tokens", "-1"], "--sample-tokens must be in 0...2147483647, got -1"),
      (missing + ["--seed", "-1"], "The value '-1' is invalid for '--seed"),
      (
        ["train", "gpt", "--data", dir + "/missing.txt", "--char", "--output-dir", corpus + "/out"],
        "output directory \(corpus)/out cannot be created: \(corpus) is a file, not a directory"
      ),
      (nomodel + ["--temperature", "nan"], "--temperature must be a finite number > 0, got nan"),
      (nomodel + ["--length-penalty", "nan", "--num-beams", "2"], "--length-penalty must be a finite number, got nan"),
      (nomodel + ["--num-beams", "-3"], "--num-beams must be >= 1, got -3"),
      (nomodel + ["--top-p", "nan"], "--top-p must be in (0, 1], got nan"),
      (nomodel + ["--top-k", "-1"], "--top-k must be >= 0"),
      (nomodel + ["--repetition-penalty", "inf"], "--repetition-penalty must be a finite number > 0, got inf"),
      (nomodel + ["--min-new-tokens", "-1"], "--min-new-tokens must be >= 0, got -1"),
      (nomodel + ["--max-new-tokens", "9223372036854775807"], "--max-new-tokens must be in 0...2147483647"),
      (nomodel + ["--no-repeat-ngram-size", "-1"], "--no-repeat-ngram-size must be >= 0"),
      (nomodel + ["--num-beams", "2", "--num-return-sequences", "3"], "--num-return-sequences (3) must be <= --num-beams (2)"),
      (["demo", "--steps", "0", "--output-dir", dir + "/d"], "--steps must be >= 1, got 0"),
      (["demo", "--steps=-1", "--output-dir", dir + "/d"], "--steps must be >= 1, got -1"),
      (["summary", "ae", "--batch-size", "-3"], "--batch-size must be -1 (any) or at least 1, got -3"),
      (["summary", "gpt2", "--vocab-size", "99999999999"], "--vocab-size must be in 1...4194304"),
      (["train", "vae", "--beta", "nan", "--output-dir", dir + "/v"], "--beta must be a finite number >= 0, got nan"),
      (["train", "vae", "--latent-dim", "-2", "--output-dir", dir + "/v"], "--latent-dim must be in 1...1048576, got -2"),
      (["train", "ae", "--epochs", "2", "--warmup-ratio", "2", "--output-dir", dir + "/a"], "--warmup-ratio must be in [0, 1], got 2.0"),
    ]
    for (args, message) in cases {
      let r = try loom(args)
      XCTAssertEqual(r.status, 64, "\(args): \(r.err)")
      XCTAssertTrue(r.err.contains(message), "\(args): expected '\(message)' in: \(r.err)")
      XCTAssertFalse(r.err.contains("Missing value"), "\(args): \(r.err)")
    }
    // A display-only batch size overflowed the memory estimate (a trap on main).
    let big = try loom(["summary", "ae", "--batch-size", "9223372036854775807"])
    XCTAssertEqual(big.status, 0, big.err)
    XCTAssertTrue(big.out.contains("9223372036854775807"), big.out)
  }

  /// `--adam-epsilon 0` gives NaN losses (0/0 in Adam's update). On main the run aborted at
  /// the first log ("Invalid number value (nan) in JSON write") with no model; HF logs nan
  /// and goes on, so Loom does, writing null in its JSON and warning at the end.
  func testNaNLossIsLoggedAsNullAndTheRunFinishes() throws {
    let out = dir + "/nan"
    // Unfiltered: --logging-nan-inf-filter (true by default, as in HF) would log a filtered loss.
    let r = try loom(gpt(out, [
      "--max-steps", "6", "--logging-steps", "2", "--save-steps", "3", "--adam-epsilon", "0", "--logging-nan-inf-filter", "false",
    ]))
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.err.contains("warning: training ended with non-finite weights"), r.err)
    XCTAssertTrue(r.err.contains("loss nan"), r.err)
    XCTAssertFalse(r.err.contains("loss -nan") || r.err.contains(": -nan"), r.err)
    let logged = try rows(out + "/metrics.jsonl").filter { $0["loss"] != nil }
    XCTAssertEqual(logged.map { $0["step"] as? Double }, [2, 4, 6])
    XCTAssertTrue(logged.last!["loss"] is NSNull, "\(logged)")
    for f in ["model.safetensors", "checkpoint-6/trainer_state.json", "loss.png"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
    }
  }

  /// --logging-nan-inf-filter true|false on a run whose losses turn NaN (--adam-epsilon 0):
  /// true (the default) logs finite losses where false logs null; the weights are the same.
  func testLoggingNanInfFilterFlag() throws {
    var logged: [String: [Any]] = [:]
    for setting in ["true", "false"] {
      let out = dir + "/filter-" + setting
      let r = try loom(gpt(out, [
        "--max-steps", "6", "--logging-steps", "2", "--save-strategy", "no", "--adam-epsilon", "0",
        "--logging-nan-inf-filter", setting,
      ]))
      XCTAssertEqual(r.status, 0, r.err)
      logged[setting] = try rows(out + "/metrics.jsonl").compactMap { $0["loss"] }
      XCTAssertEqual(logged[setting]?.count, 3)
    }
    let filtered = logged["true"]!, raw = logged["false"]!
    XCTAssertTrue(raw.contains { $0 is NSNull }, "unfiltered: null where the loss is NaN: \(raw)")
    XCTAssertTrue(filtered.allSatisfy { ($0 as? Double)?.isFinite == true }, "filtered: \(filtered)")
    // The same run: the windows with no NaN log the same loss.
    for (f, r) in zip(filtered, raw) where r is Double { XCTAssertEqual(f as? Double, r as? Double) }
    let weights = try ["true", "false"].map { try Data(contentsOf: URL(fileURLWithPath: dir + "/filter-\($0)/model.safetensors")) }
    XCTAssertEqual(weights[0], weights[1], "only the logs differ")
    let bad = try loom(gpt(dir + "/filter-bad", ["--logging-nan-inf-filter", "maybe"]))
    XCTAssertEqual(bad.status, 64, bad.err)
    XCTAssertTrue(bad.err.contains("--logging-nan-inf-filter"), bad.err)
  }

  /// --stop-on-nan: a run resumed with a NaN-producing setting stops at the first NaN loss
  /// with the step and the last good checkpoint, writes no checkpoint or model after it,
  /// and that checkpoint resumes.
  func testStopOnNaNKeepsTheLastGoodCheckpoint() throws {
    let out = dir + "/stop"
    let base = gpt(out, ["--logging-steps", "1", "--save-steps", "2"])
    let good = try loom(base + ["--max-steps", "4"])
    XCTAssertEqual(good.status, 0, good.err)
    let modelBefore = try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors"))
    let r = try loom(base + ["--max-steps", "10", "--adam-epsilon", "0", "--resume-from-checkpoint", "latest", "--stop-on-nan"])
    XCTAssertEqual(r.status, 1, r.err)
    XCTAssertTrue(r.err.contains("training stopped at step "), r.err)
    XCTAssertTrue(r.err.contains("the training loss is nan"), r.err)
    XCTAssertTrue(r.err.contains("the last good checkpoint is \(out)/checkpoint-4"), r.err)
    let names = try FileManager.default.contentsOfDirectory(atPath: out)
    XCTAssertEqual(names.filter { $0.hasPrefix("checkpoint-") }.sorted(), ["checkpoint-2", "checkpoint-4"])
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors")), modelBefore, "the model is not overwritten")
    XCTAssertTrue(try rows(out + "/metrics.jsonl").last!["loss"] is NSNull)
    let again = try loom(base + ["--max-steps", "6", "--resume-from-checkpoint", "latest"])
    XCTAssertEqual(again.status, 0, again.err)
    XCTAssertTrue(again.err.contains("resuming from \(out)/checkpoint-4 at step 4"), again.err)
  }

  /// A real `kill -9` of `loom train gpt` (checkpointing every step, so it often dies mid-save)
  /// and a resume: no `.checkpoint-N.tmp-PID` is left (on main they stayed forever) and
  /// metrics.jsonl has each step once, 1 through the end.
  func testKilledRunResumesWithoutLeftoversOrRepeatedSteps() throws {
    let url = try loomBinary()
    let out = dir + "/killed"
    let base = gpt(out, ["--logging-steps", "1", "--save-steps", "1", "--eval-steps", "2"])
    let p = Process()
    p.executableURL = url
    p.arguments = base + ["--max-steps", "100000"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(120)
    while !FileManager.default.fileExists(atPath: out + "/checkpoint-5") && Date() < deadline { usleep(20_000) }
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    XCTAssertEqual(p.terminationReason, .uncaughtSignal)
    // Whether or not this kill landed mid-save, a save it interrupted looks like this.
    let orphan = out + "/.checkpoint-99999.tmp-\(p.processIdentifier)"
    try FileManager.default.createDirectory(atPath: orphan, withIntermediateDirectories: true)
    let last = lastCheckpointStep(out)
    XCTAssertGreaterThanOrEqual(last, 5)
    let r = try loom(base + ["--max-steps", "\(last + 4)", "--resume-from-checkpoint", "latest"])
    XCTAssertEqual(r.status, 0, r.err)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp-") }
    XCTAssertEqual(leftovers, [])
    let logged = try rows(out + "/metrics.jsonl")
    let trainSteps = logged.filter { $0["loss"] != nil }.map { Int($0["step"] as! Double) }
    let evalSteps = logged.filter { $0["eval_loss"] != nil }.map { Int($0["step"] as! Double) }
    XCTAssertEqual(trainSteps, Array(1...(last + 4)))
    XCTAssertEqual(evalSteps, Array(stride(from: 2, through: last + 4, by: 2)))
  }

  /// The newest checkpoint-N in `dir` (0 when none).
  func lastCheckpointStep(_ dir: String) -> Int {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
      .compactMap { $0.hasPrefix("checkpoint-") ? Int($0.dropFirst("checkpoint-".count)) : nil }.max() ?? 0
  }
}
