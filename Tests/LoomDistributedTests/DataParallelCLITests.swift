import Foundation
import LoomCore
import LoomIO
import XCTest

/// `loom train …` under mpirun: per-step losses equal one process with the same global batch,
/// resuming across different rank counts, and the bad inputs (a rank that hangs, ranks that
/// disagree) ending in errors within bounded time.
final class DataParallelCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-ddp-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  /// A one-layer character GPT without dropout on a small corpus.
  func gptArguments(corpus name: String = "corpus.txt", text: String? = nil) throws -> [String] {
    let corpus = dir + "/" + name
    let body = text ?? String(repeating: "to be or not to be, that is the question.\n", count: 60)
    try body.write(toFile: corpus, atomically: true, encoding: .utf8)
    let config = dir + "/config.json"
    try #"{"n_positions": 16, "n_embd": 16, "n_layer": 1, "n_head": 2, "resid_pdrop": 0, "embd_pdrop": 0, "attn_pdrop": 0}"#
      .write(toFile: config, atomically: true, encoding: .utf8)
    return [
      "train", "gpt", "--data", corpus, "--char", "--config", config, "--learning-rate", "3e-3",
      "--validation-fraction", "0", "--samples", "0", "--logging-steps", "1",
    ]
  }

  func losses(_ file: String) throws -> [Double] {
    try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
      .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .compactMap { $0["loss"] as? Double }
  }

  func assertClose(_ a: [Double], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): \(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) {
      XCTAssertLessThanOrEqual(abs(x - y) / abs(y), 1e-5, "\(what): \(a) vs \(b)", file: file, line: line)
    }
  }

  func mpirun(_ n: Int, _ args: [String], timeout: Double = 120) throws -> MPIRun.Result {
    try MPIRun.run([try MPIRun.mpirun()] + MPIRun.flags(n) + [try MPIRun.loom()] + args, timeout: timeout)
  }

  func testGPTOnTwoAndThreeRanksMatchesOneProcess() throws {
    let loom = try MPIRun.loom()
    let gpt = try gptArguments()
    for (n, perRank) in [(2, 2), (3, 2)] {
      let global = n * perRank
      let one = try MPIRun.run([loom] + gpt + ["--max-steps", "5", "--batch-size", "\(global)", "--output-dir", dir + "/one-\(n)"])
      XCTAssertEqual(one.status, 0, one.err)
      // Two ranks through `loom launch` (mpirun underneath), three through mpirun itself.
      let args = gpt + ["--max-steps", "5", "--batch-size", "\(perRank)", "--output-dir", dir + "/ddp-\(n)"]
      let ddp =
        n == 2
        ? try MPIRun.run([loom, "launch", "--nproc-per-node", "2"] + args) : try mpirun(n, args)
      XCTAssertEqual(ddp.status, 0, ddp.out + ddp.err)
      let expected = try losses(dir + "/one-\(n)/metrics.jsonl")
      XCTAssertEqual(expected.count, 5)
      assertClose(try losses(dir + "/ddp-\(n)/metrics.jsonl"), expected, "\(n) ranks × \(perRank) vs 1 × \(global)")
      XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/ddp-\(n)/model.safetensors"))
      XCTAssertEqual(ddp.out.components(separatedBy: "model saved to").count - 1, 1, "rank 0 alone prints:\n\(ddp.out)")
      if n == 2 {
        // Gradient accumulation: 2 micro-batches of 1 per rank and step, reduced only after the second (no_sync).
        let accumulated = try mpirun(
          2, gpt + ["--max-steps", "5", "--batch-size", "1", "--gradient-accumulation-steps", "2", "--output-dir", dir + "/accumulated"])
        XCTAssertEqual(accumulated.status, 0, accumulated.out + accumulated.err)
        assertClose(try losses(dir + "/accumulated/metrics.jsonl"), expected, "2 ranks × 1 × 2 micro-batches vs 1 process × 4")
        // ZeRO-1 (each rank steps half of the AdamW moments) trains the same.
        let zero = try mpirun(2, gpt + ["--max-steps", "5", "--batch-size", "2", "--zero-stage", "1", "--output-dir", dir + "/zero"])
        XCTAssertEqual(zero.status, 0, zero.out + zero.err)
        assertClose(try losses(dir + "/zero/metrics.jsonl"), expected, "ZeRO-1 on 2 ranks vs 1 process")
      }
    }
  }

  func testLaunchBuildsTheMpirunCommand() throws {
    let loom = try MPIRun.loom()
    let r = try MPIRun.run([loom, "launch", "--nproc-per-node", "64", "--dry-run", "train", "gpt", "--max-steps", "3"])
    XCTAssertEqual(r.status, 0, r.err)
    let words = r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
    XCTAssertTrue(words.first?.hasSuffix("mpirun") ?? false, r.out)
    XCTAssertEqual(Array(words[1...2]), ["-np", "64"])
    XCTAssertEqual(words.contains("--allow-run-as-root"), getuid() == 0, r.out)
    XCTAssertTrue(words.contains("--oversubscribe"), "64 ranks are more than the cores: \(r.out)")
    XCTAssertEqual(Array(words.suffix(4)), ["train", "gpt", "--max-steps", "3"])
    XCTAssertTrue(words[words.count - 5].hasSuffix("/loom"), r.out)
    let hosts = try MPIRun.run([loom, "launch", "--nproc-per-node", "2", "--hostfile", dir + "/none", "train", "gpt"])
    XCTAssertNotEqual(hosts.status, 0)
    XCTAssertTrue(hosts.err.contains("--hostfile \(dir!)/none is not a readable file"), hosts.err)
    let zero = try MPIRun.run([loom, "launch", "--nproc-per-node", "0", "train", "gpt"])
    XCTAssertTrue(zero.err.contains("--nproc-per-node must be >= 1, got 0"), zero.err)
    let stage = try MPIRun.run([loom] + (try gptArguments()) + ["--zero-stage", "2", "--output-dir", dir + "/z"])
    XCTAssertNotEqual(stage.status, 0)
    XCTAssertTrue(stage.err.contains("--zero-stage must be 0 (plain data parallelism) or 1"), stage.err)
  }

  func testResumeWithADifferentNumberOfRanks() throws {
    let loom = try MPIRun.loom()
    let gpt = try gptArguments() + ["--max-steps", "6", "--save-steps", "3"]
    // Global batch 6 throughout: 2 ranks × 3 with ZeRO-1 (its checkpoint holds the whole optimizer
    // state), then 3 ranks × 2 or 1 process × 6 from its checkpoint.
    let a = try mpirun(2, gpt + ["--batch-size", "3", "--zero-stage", "1", "--output-dir", dir + "/a"])
    XCTAssertEqual(a.status, 0, a.out + a.err)
    let checkpoint = dir + "/a/checkpoint-3"
    XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint + "/optimizer.safetensors"))
    let b = try mpirun(
      3, gpt + ["--batch-size", "2", "--output-dir", dir + "/b", "--resume-from-checkpoint", checkpoint])
    XCTAssertEqual(b.status, 0, b.out + b.err)
    let c = try MPIRun.run(
      [loom] + gpt + ["--batch-size", "6", "--output-dir", dir + "/c", "--resume-from-checkpoint", checkpoint])
    XCTAssertEqual(c.status, 0, c.err)
    let reference = try SafeTensors.load(dir + "/a/model.safetensors")
    for run in ["b", "c"] {
      let weights = try SafeTensors.load(dir + "/\(run)/model.safetensors")
      XCTAssertEqual(Set(weights.keys), Set(reference.keys))
      var worst = 0.0
      for (name, w) in reference {
        for (x, y) in zip(weights[name]!.floats, w.floats) { worst = max(worst, Double(abs(x - y)) / max(1, Double(abs(y)))) }
      }
      XCTAssertLessThanOrEqual(worst, 1e-5, "run \(run): weights differ from the uninterrupted 2-rank run by \(worst)")
      // The steps after the checkpoint log the same losses.
      assertClose(Array(try losses(dir + "/\(run)/metrics.jsonl").suffix(3)), Array(try losses(dir + "/a/metrics.jsonl").suffix(3)), "run \(run)")
    }
  }

  func testAutoencoderOnTwoRanksMatchesOneProcess() throws {
    let images = "/usr/share/datasets/fashion-mnist"
    guard FileManager.default.fileExists(atPath: images + "/train-images-idx3-ubyte.gz") else {
      throw XCTSkip("Fashion-MNIST is not installed (\(images))")
    }
    let loom = try MPIRun.loom()
    let ae = ["train", "ae", "--train-limit", "96", "--test-limit", "20", "--epochs", "1", "--logging-steps", "1"]
    let one = try MPIRun.run([loom] + ae + ["--batch-size", "16", "--output-dir", dir + "/one"])
    XCTAssertEqual(one.status, 0, one.err)
    let ddp = try mpirun(2, ae + ["--batch-size", "8", "--output-dir", dir + "/ddp"])
    XCTAssertEqual(ddp.status, 0, ddp.out + ddp.err)
    let expected = try losses(dir + "/one/trainer_log.jsonl")
    XCTAssertEqual(expected.count, 6)
    assertClose(try losses(dir + "/ddp/trainer_log.jsonl"), expected, "2 ranks × 8 vs 1 × 16")
    for f in ["model.safetensors", "metrics.jsonl", "loss.png"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/ddp/" + f), f)
    }
  }

  /// A rank that stops responding (SIGSTOP: alive, never answering): the others give up at
  /// --ddp-timeout with a message instead of waiting forever.
  func testHungRankStopsTheRunWithAnError() throws {
    let script = dir + "/stop-rank-1.sh"
    try """
    #!/bin/sh
    if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then (sleep 3; kill -STOP $$) & fi
    exec "$@"
    """.write(toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    let args = try gptArguments() + ["--max-steps", "1000000", "--batch-size", "2", "--ddp-timeout", "4", "--output-dir", dir + "/hung"]
    let r = try MPIRun.run(
      [try MPIRun.mpirun()] + MPIRun.flags(2) + [script, try MPIRun.loom()] + args,
      environment: ["LOOM_DDP_TIMEOUT": "4"], timeout: 90)
    XCTAssertFalse(r.timedOut, "the run hung:\n\(r.err)")
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("did not finish within 4 s: another rank died, hangs"), r.err)
    XCTAssertLessThan(r.seconds, 60)
  }

  /// A rank killed mid-run: mpirun sees it die and stops the others.
  func testKilledRankStopsTheRun() throws {
    let script = dir + "/kill-rank-1.sh"
    try """
    #!/bin/sh
    if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then (sleep 3; kill -KILL $$) & fi
    exec "$@"
    """.write(toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    let args = try gptArguments() + ["--max-steps", "1000000", "--batch-size", "2", "--output-dir", dir + "/killed"]
    let r = try MPIRun.run([try MPIRun.mpirun()] + MPIRun.flags(2) + [script, try MPIRun.loom()] + args, timeout: 90)
    XCTAssertFalse(r.timedOut, "the run hung:\n\(r.err)")
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("exited on signal 9"), r.err)
    XCTAssertLessThan(r.seconds, 60)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/killed/model.safetensors"))
  }

  func testRanksWithDifferentArgumentsFailClearly() throws {
    let script = dir + "/rank-1-seed.sh"
    try """
    #!/bin/sh
    if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec "$@" --seed 7; fi
    exec "$@"
    """.write(toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    let args = try gptArguments() + ["--max-steps", "2", "--batch-size", "2", "--output-dir", dir + "/args"]
    // Each rank's standard error in its own file (mpirun interleaves them otherwise).
    let logs = dir + "/logs"
    let r = try MPIRun.run(
      [try MPIRun.mpirun()] + MPIRun.flags(2) + ["--output-filename", logs, script, try MPIRun.loom()] + args, timeout: 60)
    XCTAssertFalse(r.timedOut)
    XCTAssertNotEqual(r.status, 0)
    let err = try (0..<2).map { try String(contentsOfFile: "\(logs)/1/rank.\($0)/stderr", encoding: .utf8) }
    for rank in 0..<2 {
      XCTAssertTrue(err[rank].contains("ranks disagree on the command line: rank 1 differs from rank 0"), "rank \(rank): \(err[rank])")
    }
    XCTAssertTrue(err[1].contains("here (rank 1) the first difference is line \(args.count + 1): rank 0 has ``, this rank `--seed`"), err[1])
  }

  /// The same command over different files (here each rank's working directory holds another
  /// corpus): the Trainer's check of the model and data catches it.
  func testRanksWithDifferentDataFailClearly() throws {
    let loom = try MPIRun.loom()
    for (sub, text) in [("r0", "abcdefgh\n"), ("r1", "abcdefghij\n")] {
      try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
      try String(repeating: text, count: 40).write(toFile: dir + "/\(sub)/corpus.txt", atomically: true, encoding: .utf8)
    }
    var args = try gptArguments()
    args[args.firstIndex(of: "--data")! + 1] = "corpus.txt"
    args += ["--max-steps", "2", "--batch-size", "2", "--output-dir", dir + "/data"]
    let flags = MPIRun.flags(1).filter { $0 != "-np" && $0 != "1" }
    let logs = dir + "/logs"
    var argv: [String] = [try MPIRun.mpirun()] + flags + ["--output-filename", logs]
    argv += ["-np", "1", "-wdir", dir + "/r0", loom] + args
    argv += [":", "-np", "1", "-wdir", dir + "/r1", loom] + args
    let r = try MPIRun.run(argv, timeout: 60)
    XCTAssertFalse(r.timedOut)
    XCTAssertNotEqual(r.status, 0)
    let err = try (0..<2).map { try String(contentsOfFile: "\(logs)/1/rank.\($0)/stderr", encoding: .utf8) }
    for rank in 0..<2 {
      XCTAssertTrue(
        err[rank].contains("ranks disagree on the training configuration: rank 1 differs from rank 0"), "rank \(rank): \(err[rank])")
    }
    XCTAssertTrue(err[1].contains("`train examples: 22`, this rank `train examples: 27`"), err[1])
  }
}
