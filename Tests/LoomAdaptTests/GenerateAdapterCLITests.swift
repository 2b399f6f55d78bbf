import Foundation
import LoomAdapt
import LoomCore
import LoomModels
import LoomTestSupport
import XCTest

/// `loom generate --adapter DIR`: the adapter's text equals the text of the model with the
/// adapter merged into a saved copy; a directory without an adapter is a clear error.
final class GenerateAdapterCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-adapter-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  /// A random character-level GPT-2 (char_vocab.json as `loom train gpt --char` writes it).
  func charModel(_ path: String) throws -> GPT2LMHeadModel {
    let chars = Array("abcdefgh ,.")
    let m = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: chars.count, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil,
        eosTokenId: nil),
      generator: Generator(seed: 4))
    try m.save(to: path)
    try JSONEncoder().encode(chars.map { String($0) }).write(
      to: URL(fileURLWithPath: path + "/char_vocab.json"))
    return m
  }

  func testGenerateWithAnAdapterEqualsTheMergedModel() throws {
    let base = try charModel(dir + "/base")
    let peft = try getPeftModel(
      base,
      LoraConfig(
        r: 4, loraAlpha: 16, targetModules: .names(["c_attn", "c_fc"]), initLoraWeights: .random),
      generator: Generator(seed: 7))
    try peft.save(to: dir + "/adapter")
    try peft.mergeAndUnload()
    try base.save(to: dir + "/merged")
    try FileManager.default.copyItem(
      atPath: dir + "/base/char_vocab.json", toPath: dir + "/merged/char_vocab.json")

    let args = ["generate", "--prompt", "abc", "--max-new-tokens", "10"]
    let plain = try loom(args + ["--model", dir + "/base"])
    let adapted = try loom(args + ["--model", dir + "/base", "--adapter", dir + "/adapter"])
    let merged = try loom(args + ["--model", dir + "/merged"])
    XCTAssertEqual(adapted.status, 0, adapted.err)
    XCTAssertEqual(adapted.out, merged.out)
    XCTAssertNotEqual(adapted.out, plain.out)
    XCTAssertEqual(adapted.out.count, 14, adapted.out)

    let bad = try loom(args + ["--model", dir + "/base", "--adapter", dir + "/base"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("no adapter_config.json in \(dir!)/base"), bad.err)
  }
}
