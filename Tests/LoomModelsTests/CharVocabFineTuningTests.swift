import Foundation
import LoomTestSupport
import XCTest

/// A character model fine-tuned from a checkpoint with a larger vocabulary saves a
/// char_vocab.json with fewer characters than vocab_size. `loom generate` refused it on main;
/// now it accepts it and never generates the unused ids (their scores are -inf: HF's
/// suppress_tokens), while a vocabulary larger than vocab_size is still refused.
final class CharVocabFineTuningTests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-char-vocab-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func train(_ extra: [String]) throws {
    let r = try loom(
      ["train", "gpt", "--block-size", "16", "--batch-size", "4", "--max-steps", "2", "--save-strategy", "no"] + extra)
    XCTAssertEqual(r.status, 0, r.err)
  }

  func testFineTunedOnFewerCharactersGeneratesOnlyThem() throws {
    // The base model: a character model of a wide alphabet.
    let wide = dir + "/wide.txt", narrow = dir + "/narrow.txt"
    try String(repeating: "The Quick Brown Fox Jumps Over The Lazy Dog, 0123456789!\n", count: 20)
      .write(toFile: wide, atomically: true, encoding: .utf8)
    try String(repeating: "abc cab bca\n", count: 60).write(toFile: narrow, atomically: true, encoding: .utf8)
    try train(["--data", wide, "--char", "--preset", "tiny", "--samples", "0", "--output-dir", dir + "/base"])
    let baseConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/base/config.json"))) as! [String: Any]
    let vocabSize = try XCTUnwrap(baseConfig["vocab_size"] as? Int)
    XCTAssertGreaterThan(vocabSize, 30)

    // Fine-tuned on text of 5 characters, with their vocabulary (--tokenizer: a directory
    // holding char_vocab.json), it keeps the base model's embeddings.
    let chars = dir + "/chars"
    try FileManager.default.createDirectory(atPath: chars, withIntermediateDirectories: true)
    try JSONEncoder().encode(["\n", " ", "a", "b", "c"]).write(to: URL(fileURLWithPath: chars + "/char_vocab.json"))
    let tuned = dir + "/tuned"
    try train([
      "--data", narrow, "--model", dir + "/base", "--tokenizer", chars, "--samples", "1", "--sample-tokens", "60",
      "--sample-temperature", "5", "--sample-top-k", "0", "--output-dir", tuned,
    ])
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tuned + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["vocab_size"] as? Int, vocabSize)
    let saved = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: tuned + "/char_vocab.json")))
    XCTAssertEqual(saved, ["\n", " ", "a", "b", "c"])

    // Near-uniform sampling over every id: unmasked, most of the 100 tokens would be ids 5..<vocab_size,
    // which decode to nothing. Masked, every token is one of the 5 characters.
    for beams in ["1", "3"] {
      let g = try loom([
        "generate", "--model", tuned, "--prompt", "ab", "--max-new-tokens", "100", "--do-sample", "--temperature", "5",
        "--top-k", "0", "--seed", "3", "--num-beams", beams,
      ])
      XCTAssertEqual(g.status, 0, g.err)
      let text = String(g.out.dropLast())  // print's newline
      XCTAssertTrue(text.hasPrefix("ab"), text)
      XCTAssertEqual(text.unicodeScalars.count, 102, "every generated id is a character (beams \(beams)): \(text.debugDescription)")
      XCTAssertTrue(text.unicodeScalars.allSatisfy { "\n abc".unicodeScalars.contains($0) }, text)
    }

    // More characters than vocab_size is still an error.
    let many = (0..<(vocabSize + 1)).map { String(UnicodeScalar(UInt8(33 + $0))) }
    try JSONEncoder().encode(many).write(to: URL(fileURLWithPath: tuned + "/char_vocab.json"))
    let bad = try loom(["generate", "--model", tuned, "--prompt", "ab"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("lists \(vocabSize + 1) characters but the model's vocab_size is \(vocabSize)"), bad.err)
  }
}
