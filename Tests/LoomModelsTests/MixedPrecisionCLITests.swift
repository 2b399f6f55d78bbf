import Foundation
import LoomTestSupport
import XCTest

/// `loom train gpt --bf16 / --fp16` end to end: an fp16 run of a model made to overflow skips
/// and reports every step; the flags are checked before any data is read.
final class MixedPrecisionCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-mixed-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func write(initializerRange: Double) throws -> (corpus: String, config: String) {
    let corpus = dir + "/corpus.txt"
    try String(repeating: "to be or not to be, that is the question.\n", count: 40)
      .write(toFile: corpus, atomically: true, encoding: .utf8)
    let config = dir + "/config-\(initializerRange).json"
    try #"{"n_positions": 32, "n_embd": 32, "n_layer": 1, "n_head": 2, "resid_pdrop": 0, "embd_pdrop": 0, "attn_pdrop": 0, "initializer_range": \#(initializerRange)}"#
      .write(toFile: config, atomically: true, encoding: .utf8)
    return (corpus, config)
  }

  func train(_ corpus: String, _ config: String, _ flags: [String], _ name: String) throws -> (status: Int32, out: String, err: String) {
    try loom([
      "train", "gpt", "--data", corpus, "--char", "--config", config, "--max-steps", "3", "--block-size", "16",
      "--per-device-train-batch-size", "2", "--logging-steps", "1", "--save-strategy", "no", "--samples", "0",
      "--output-dir", dir + "/" + name,
    ] + flags)
  }

  func testFP16OnAModelThatOverflowsSkipsAndReportsEveryStep() throws {
    // Weights drawn with std 300: attention and MLP activations pass float16's 65504.
    let (corpus, config) = try write(initializerRange: 300)
    let r = try train(corpus, config, ["--fp16"], "overflow")
    XCTAssertEqual(r.status, 0, r.err)
    for step in 1...3 {
      XCTAssertTrue(r.err.contains("step \(step): fp16 gradients overflowed"), r.err)
    }
    XCTAssertTrue(r.err.contains("fp16: 3 optimizer steps were skipped"), r.err)
    // The same model trains in float32 and bf16 (float32's exponent range) without a skip.
    for flags in [[], ["--bf16"]] {
      let ok = try train(corpus, config, flags, "ok\(flags.count)")
      XCTAssertEqual(ok.status, 0, ok.err)
      XCTAssertFalse(ok.err.contains("skipped"), ok.err)
    }
  }

  func testBF16AndFP16TogetherIsAClearError() throws {
    let (corpus, config) = try write(initializerRange: 0.02)
    let r = try train(corpus, config, ["--bf16", "--fp16"], "both")
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("--bf16") && r.err.contains("--fp16"), r.err)
  }
}
