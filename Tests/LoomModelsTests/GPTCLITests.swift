import Foundation
import LoomTestSupport
import XCTest

/// `loom train gpt` and `loom generate` end to end, and their bad-input errors.
final class GPTCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-gpt-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  func testTrainThenGenerate() throws {
    let corpus = dir + "/corpus.txt"
    try String(repeating: "to be or not to be, that is the question.\n", count: 60).write(toFile: corpus, atomically: true, encoding: .utf8)
    let config = dir + "/config.json"
    try #"{"n_positions": 32, "n_embd": 32, "n_layer": 2, "n_head": 2, "resid_pdrop": 0, "embd_pdrop": 0, "attn_pdrop": 0}"#
      .write(toFile: config, atomically: true, encoding: .utf8)
    let out = dir + "/model"
    let r = try loom([
      "train", "gpt", "--data", corpus, "--char", "--config", config, "--max-steps", "30", "--learning-rate", "3e-3",
      "--per-device-train-batch-size", "4", "--logging-steps", "10", "--eval-steps", "15", "--save-steps", "15",
      "--save-total-limit", "1", "--samples", "0", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    for f in [
      "config.json", "generation_config.json", "model.safetensors", "char_vocab.json", "metrics.jsonl", "loss.png",
      "checkpoint-30/trainer_state.json",
    ] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/checkpoint-15"), "rotated by --save-total-limit 1")
    let losses = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Double] }.compactMap { $0["loss"] }
    XCTAssertLessThan(losses.last!, losses.first! * 0.8, "loss should fall: \(losses)")
    let g = try loom(["generate", "--model", out, "--prompt", "to be", "--max-new-tokens", "12"])
    XCTAssertEqual(g.status, 0, g.err)
    XCTAssertTrue(g.out.hasPrefix("to be"), g.out)
    XCTAssertEqual(g.out.trimmingCharacters(in: .newlines).count, 5 + 12)
    let beams = try loom(["generate", "--model", out, "--prompt", "to", "--num-beams", "3", "--num-return-sequences", "2", "--max-new-tokens", "5"])
    XCTAssertEqual(beams.status, 0, beams.err)
    XCTAssertTrue(beams.out.contains("--- sequence 2 ---"))
  }

  func testBadInputsGiveClearErrors() throws {
    let corpus = dir + "/corpus.txt"
    try "abc\n".write(toFile: corpus, atomically: true, encoding: .utf8)
    let empty = dir + "/empty.txt"
    try "  \n".write(toFile: empty, atomically: true, encoding: .utf8)
    let cases: [([String], String)] = [
      (["train", "gpt", "--data", corpus, "--char", "--tokenizer", dir, "--output-dir", dir + "/a"], "contradict"),
      (["train", "gpt", "--data", dir + "/missing.txt", "--char", "--output-dir", dir + "/b"], "cannot read --data file"),
      (["train", "gpt", "--data", empty, "--char", "--output-dir", dir + "/c"], "contain no text"),
      (["train", "gpt", "--data", corpus, "--char", "--preset", "tiny", "--output-dir", dir + "/d"], "fewer than one block"),
      (["train", "gpt", "--data", corpus, "--char", "--eval-strategy", "sometimes", "--output-dir", dir + "/e"], "--eval-strategy"),
      (["generate", "--model", dir + "/nope", "--prompt", "x"], "does not exist"),
      (["generate", "--model", dir, "--prompt", "x", "--num-return-sequences", "2"], "needs --do-sample"),
    ]
    for (args, message) in cases {
      let r = try loom(args)
      XCTAssertNotEqual(r.status, 0, "\(args) should fail")
      XCTAssertTrue((r.err + r.out).contains(message), "\(args): expected '\(message)' in: \(r.err)")
    }
  }
}
