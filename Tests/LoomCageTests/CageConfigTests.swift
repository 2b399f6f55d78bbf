import Foundation
import XCTest

@testable import LoomCage

/// Cage files: a full configuration, and every kind of mistake as an error naming the key and the allowed values.
final class CageConfigTests: XCTestCase {
  func parse(_ json: String) throws -> SafetyCage { try CageConfig.parse(Data(json.utf8), source: "cage.json") }

  func error(_ json: String) -> String {
    do {
      _ = try parse(json)
      return "no error"
    } catch { return "\(error)" }
  }

  func testAFullConfiguration() throws {
    let cage = try parse(
      #"""
      {"max_input_bytes": 1000, "stream_chunk_tokens": 8,
       "input": [{"name": "prompt_injection"}],
       "output": [
         {"name": "secrets", "policy": "fix", "threshold": "medium", "timeout_ms": 250, "entropy_threshold": 4.0},
         {"name": "word_list", "words": ["gets("], "policy": "regenerate", "max_attempts": 5,
          "append_findings_to_prompt": true},
         {"name": "pii", "rules": {"disable": ["text.pii.phone"]}, "policy": "filter"},
         {"name": "json", "schema": {"type": "object"}, "stream": false},
         {"name": "c_code", "threshold": "high"}
       ]}
      """#)
    XCTAssertEqual(cage.maxInputBytes, 1000)
    XCTAssertEqual(cage.streamChunkTokens, 8)
    XCTAssertEqual(cage.input.map(\.validator.name), ["prompt_injection"])
    XCTAssertEqual(cage.output.map(\.validator.name), ["secrets", "word_list", "pii", "json", "c_code"])
    XCTAssertEqual(cage.output.map(\.policy), [.fix, .regenerate, .filter, .exception, .exception])
    XCTAssertEqual(cage.output[0].threshold, .medium)
    XCTAssertEqual(cage.output[0].timeout, 0.25)
    XCTAssertEqual((cage.output[0].validator as? SecretsValidator)?.base64EntropyThreshold, 4.0)
    XCTAssertEqual(cage.output[1].maxAttempts, 5)
    XCTAssertTrue(cage.output[1].appendFindingsToPrompt)
    XCTAssertEqual(cage.output[2].validator.rules.map(\.id), ["text.pii.email", "text.pii.credit-card"])
    XCTAssertEqual(try cage.output[2].validator.validate("call 555-123-4567").count, 0, "phone rule disabled")
    XCTAssertEqual(cage.output[3].checksStreams, false)
    XCTAssertEqual(cage.output[1].checksStreams, true)
    XCTAssertEqual((cage.output[4].validator as? CCodeValidator)?.minimumSeverity, .high)
  }

  /// Found by CLIMutationTests: a number beyond a double's range inside a list printed a raw DecodingError ("expected
  /// Dictionary<String, Any> but found an array") instead of where the bad value is.
  func testANumberOutOfRangeIsNamedByItsPath() {
    for (json, path) in [
      (#"{"output": [{"name": "secrets", "entropy_threshold": 1e999}]}"#, "output[0].entropy_threshold"),
      (#"{"output": [{"name": "pii"}], "max_input_bytes": -1e400}"#, "max_input_bytes"),
    ] {
      let text = error(json)
      XCTAssertTrue(text.contains("cage.json: not valid JSON at \(path): a number beyond ±1.8e308"), text)
      XCTAssertFalse(text.contains("DecodingError"), text)
    }
    XCTAssertEqual(try JSONValue.parse(#"[1, {"a": [true, null, "x"]}]"#), .array([.number(1), .object(["a": .array([.bool(true), .null, .string("x")])])]))
  }

  func testMistakesAreClearErrors() {
    XCTAssertTrue(
      error(#"{"output": [{"name": "secretz"}]}"#).contains(
        "cage.json: output[0] (secretz): unknown validator 'secretz'; allowed validators: c_code, classifier, json, length, pii, prompt_injection, regex, secrets, word_list"),
      error(#"{"output": [{"name": "secretz"}]}"#))
    let policy = error(#"{"output": [{"name": "pii", "policy": "retry"}]}"#)
    XCTAssertTrue(
      policy.contains("output[0] (pii): unknown policy 'retry'; allowed policies: exception, reask, regenerate, fix, filter, refrain, noop"),
      policy)
    let key = error(#"{"output": [{"name": "word_list", "wrds": ["x"]}]}"#)
    XCTAssertTrue(key.contains("output[0] (word_list): unknown key 'wrds'; allowed keys: name, policy"), key)
    XCTAssertTrue(key.contains("words, case_sensitive, whole_words"), key)
    let top = error(#"{"outputs": []}"#)
    XCTAssertTrue(top.contains("cage.json: unknown key 'outputs'; allowed keys: input, output"), top)
    let notJSON = error(#"{"output": [ {"name": "pii"} "#)
    XCTAssertTrue(notJSON.hasPrefix("cage.json: not valid JSON"), notJSON)
    let type = error(#"{"output": [{"name": "pii", "max_attempts": "three"}]}"#)
    XCTAssertTrue(type.contains("output[0] (pii): 'max_attempts' must be a whole number ≥ 1"), type)
    let threshold = error(#"{"output": [{"name": "pii", "threshold": "severe"}]}"#)
    XCTAssertTrue(
      threshold.contains("'threshold' is 'severe'; allowed values: note, low, medium, high, critical"), threshold)
    let rule = error(#"{"output": [{"name": "pii", "rules": {"disable": ["text.pii.ssn"]}}]}"#)
    XCTAssertTrue(rule.contains("unknown rule 'text.pii.ssn'; pii's rules: text.pii.email"), rule)
    XCTAssertTrue(error(#"{"output": [{"policy": "fix"}]}"#).contains("'name' is required"))
    XCTAssertTrue(error(#"{"output": {"name": "pii"}}"#).contains("'output' must be a list of validator objects"))
    XCTAssertTrue(error(#"{}"#).contains("no validators"))
    XCTAssertTrue(error(#"[1, 2]"#).contains("cage.json must be a JSON object"))
    XCTAssertTrue(error(#"{"output": [{"name": "regex", "forbid": ["(x"]}]}"#).contains("not a valid regular expression"))
    XCTAssertTrue(error(#"{"output": [{"name": "length"}]}"#).contains("give at least one of min_chars"))
    let classifier = error(#"{"output": [{"name": "classifier", "model": "/nonexistent", "label": "toxic"}]}"#)
    XCTAssertTrue(classifier.contains("output[0] (classifier): classifier: /nonexistent cannot be loaded"), classifier)
  }

  func testFilesYAMLAndBinary() throws {
    let dir = NSTemporaryDirectory() + "loom-cage-config-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // YAML by extension, and by content under another name; JSON under another name by its first character.
    try "output:\n  - name: pii\n".write(toFile: dir + "/cage.yml", atomically: true, encoding: .utf8)
    XCTAssertEqual(try CageConfig.load(path: dir + "/cage.yml").output.map(\.validator.name), ["pii"])
    try "output:\n  - name: secrets\n".write(toFile: dir + "/cage.conf", atomically: true, encoding: .utf8)
    XCTAssertEqual(try CageConfig.load(path: dir + "/cage.conf").output.map(\.validator.name), ["secrets"])
    try "\n {\"output\": [{\"name\": \"pii\"}]}".write(toFile: dir + "/cage", atomically: true, encoding: .utf8)
    XCTAssertEqual(try CageConfig.load(path: dir + "/cage").output.map(\.validator.name), ["pii"])
    // A .json file is read as JSON even though YAML would accept it: JSON's errors are the clearer ones there.
    try "output: []\n".write(toFile: dir + "/yaml-in.json", atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try CageConfig.load(path: dir + "/yaml-in.json")) {
      XCTAssertTrue("\($0)".contains("not valid JSON"), "\($0)")
    }
    try Data([0xff, 0xfe, 0x00]).write(to: URL(fileURLWithPath: dir + "/bin.yaml"))
    XCTAssertThrowsError(try CageConfig.load(path: dir + "/bin.yaml")) {
      XCTAssertTrue("\($0)".contains("not UTF-8 text"), "\($0)")
    }
    try Data([0xff, 0xfe, 0x00]).write(to: URL(fileURLWithPath: dir + "/bin.json"))
    XCTAssertThrowsError(try CageConfig.load(path: dir + "/bin.json")) {
      XCTAssertTrue("\($0)".contains("not UTF-8 text"), "\($0)")
    }
    XCTAssertThrowsError(try CageConfig.load(path: dir + "/missing.json")) {
      XCTAssertTrue("\($0)".contains("missing.json"), "\($0)")
    }
  }

  func testDefaultCages() {
    let c = SafetyCage.defaultCage(.c)
    XCTAssertEqual(c.output.map(\.validator.name), ["c_code"])
    let text = SafetyCage.defaultCage(.text)
    XCTAssertEqual(text.input.map(\.validator.name), ["prompt_injection"])
    XCTAssertEqual(text.output.map(\.validator.name), ["secrets", "pii", "length"])
    XCTAssertEqual(CageLanguage(path: "a/b.H"), .c)
    XCTAssertEqual(CageLanguage(path: "notes.md"), .text)
    // Every built-in text rule id is unique and named text.*.
    let ids = ValidatorCatalog.textRules.map(\.id)
    XCTAssertEqual(Set(ids).count, ids.count)
    XCTAssertTrue(ids.allSatisfy { $0.hasPrefix("text.") })
  }
}
