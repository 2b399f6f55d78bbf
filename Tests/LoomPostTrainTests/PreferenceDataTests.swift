import Foundation
import LoomCore
import LoomTrain
import XCTest

@testable import LoomPostTrain

/// Preference rows: trl's tokenisation and collation (ids, masks, truncation) and the errors
/// bad rows give.
final class PreferenceDataTests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-prefs-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func file(_ lines: [String]) -> String {
    let path = dir + "/p.jsonl"
    try! lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func error(_ body: () throws -> Any) -> String {
    do {
      _ = try body()
      XCTFail("no error thrown")
      return ""
    } catch { return "\(error)" }
  }

  func testTokenisationMatchesTrl() throws {
    let expected = try PreferenceFixtures.expected()["dpo"] as! [String: Any]
    let (tok, _) = try PreferenceFixtures.tokenizer()
    let pairs = try tok.tokenizeForDPO(
      PreferenceData.load(PreferenceFixtures.prefs), maxLength: 1024, source: "prefs")
    let tokens = expected["tokens"] as! [[String: Any]]
    XCTAssertEqual(pairs.count, tokens.count)
    for (p, t) in zip(pairs, tokens) {
      XCTAssertEqual(p.promptIds, intList(t["prompt_ids"]))
      XCTAssertEqual(p.chosenIds, intList(t["chosen_ids"]))
      XCTAssertEqual(p.rejectedIds, intList(t["rejected_ids"]))
    }
    // Row 1's prompt ends in a space that merges into the completion: the split moves back.
    let fullPrompt = try tok.encode("The plot was ")
    XCTAssertGreaterThan(fullPrompt.count, pairs[1].promptIds.count)
  }

  func testCollatorMatchesTrl() throws {
    let expected = try PreferenceFixtures.expected()["dpo"] as! [String: Any]
    for (key, maxLength) in [("batch", 1024), ("batch_max12", 12)] {
      let b = try PreferenceFixtures.dpoDataset(maxLength: maxLength).batch([0, 1, 2, 3])
      let e = expected[key] as! [String: Any]
      XCTAssertEqual(rows(b.inputIds!), ints(e["input_ids"]), key)
      XCTAssertEqual(rows(b.attentionMask!), ints(e["attention_mask"]), key)
      XCTAssertEqual(rows(b[PreferenceKey.completionMask]!), ints(e["completion_mask"]), key)
    }
  }

  func testRewardBatchMatchesTrl() throws {
    let expected = try PreferenceFixtures.expected()["reward"] as! [String: Any]
    let (tok, pad) = try PreferenceFixtures.tokenizer()
    let pairs = try tok.tokenizeForReward(PreferenceData.load(PreferenceFixtures.prefs), maxLength: 1024, source: "prefs")
    let b = RewardDataset(pairs, padTokenId: pad).batch([0, 1, 2, 3])
    let e = expected["batch"] as! [String: Any]
    XCTAssertEqual(rows(b.inputIds!), ints(e["input_ids"]))
    XCTAssertEqual(rows(b.attentionMask!), ints(e["attention_mask"]))
    XCTAssertNil(b[PreferenceKey.margin])
    let withMargin = try tok.tokenizeForReward(
      PreferenceData.load(PreferenceFixtures.prefsMargin), maxLength: nil, source: "prefs")
    XCTAssertEqual(RewardDataset(withMargin, padTokenId: pad).batch([0, 3])[PreferenceKey.margin]!.floats, [0.5, -0.3])
  }

  func testMaxLengthFiltersWhatTrlDrops() throws {
    let (tok, _) = try PreferenceFixtures.tokenizer()
    let data = try PreferenceData.load(PreferenceFixtures.prefs)
    // Prompts of 10, 3, 8 and 9 tokens: max_length 9 keeps those shorter than 9.
    XCTAssertEqual(try tok.tokenizeForDPO(data, maxLength: 9, source: "p").map(\.promptIds.count), [3, 8])
    XCTAssertTrue(error { try tok.tokenizeForDPO(data, maxLength: 2, source: "p") }.contains("max_length 2"))
    // max_prompt_length keeps a prompt's last tokens.
    let cut = try tok.tokenize(data[0], maxPromptLength: 4)
    XCTAssertEqual(cut.promptIds, Array(try tok.tokenize(data[0]).promptIds.suffix(4)))
    XCTAssertTrue(error { try tok.tokenizeForReward(data, maxLength: 5, source: "p") }.contains("longer than max_length 5"))
  }

  func testBadRowsAreClearErrors() throws {
    let ok = #"{"prompt": "a", "chosen": "b", "rejected": "c"}"#
    var e = error { try PreferenceData.load(self.file([ok, #"{"prompt": "a", "rejected": "c"}"#])) }
    XCTAssertTrue(e.contains("p.jsonl:2") && e.contains("no 'chosen'"), e)
    e = error { try PreferenceData.load(self.file([#"{"chosen": "b", "rejected": "c"}"#])) }
    XCTAssertTrue(e.contains("p.jsonl:1") && e.contains("no 'prompt'"), e)
    XCTAssertEqual(try PreferenceData.load(file([#"{"chosen": "b", "rejected": "c"}"#]), requirePrompt: false)[0].prompt, "")
    e = error { try PreferenceData.load(self.file([ok, "", #"{"prompt": "a", "chosen": "same", "rejected": "same"}"#])) }
    XCTAssertTrue(e.contains("p.jsonl:3") && e.contains("same text"), e)
    e = error { try PreferenceData.load(self.file(["", "  "])) }
    XCTAssertTrue(e.contains("no preference rows"), e)
    e = error { try PreferenceData.load(self.file([#"{"prompt": [{"role": "user", "content": "hi"}], "chosen": "b", "rejected": "c"}"#])) }
    XCTAssertTrue(e.contains("'prompt' is a conversation") && e.contains("chat template"), e)
    e = error { try PreferenceData.load(self.file([#"{"prompt": "a", "chosen": 3, "rejected": "c"}"#])) }
    XCTAssertTrue(e.contains("'chosen' must be a string"), e)
    e = error { try PreferenceData.load(self.file(["{not json"])) }
    XCTAssertTrue(e.contains("p.jsonl:1") && e.contains("not valid JSON"), e)
    e = error { try PreferenceData.load(self.file([#"{"prompt": "a", "chosen": "b", "rejected": "c", "ref_chosen_logps": -1}"#])) }
    XCTAssertTrue(e.contains("ref_rejected_logps"), e)
    e = error { try PreferenceData.load(self.dir + "/missing.jsonl") }
    XCTAssertTrue(e.contains("missing.jsonl") && e.contains("cannot read"), e)
  }
}
