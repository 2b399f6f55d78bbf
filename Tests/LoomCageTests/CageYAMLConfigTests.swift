import Foundation
import XCTest

@testable import LoomCage

/// YAML cage files: the JSON tests' twins — the same cage from the same structure, the same errors with the line of
/// the offending key — plus what only YAML has (indentation errors, duplicate keys, YAML 1.1 booleans, aliases, tags).
final class CageYAMLConfigTests: XCTestCase {
  func parse(_ yaml: String) throws -> SafetyCage { try CageConfig.parse(Data(yaml.utf8), source: "cage.yml") }

  func error(_ yaml: String) -> String {
    do {
      _ = try parse(yaml)
      return "no error"
    } catch { return "\(error)" }
  }

  /// Everything a cage entry holds that a file sets, in one comparable line per entry.
  func summary(_ cage: SafetyCage) -> [String] {
    ["max_input_bytes \(cage.maxInputBytes) chunk \(cage.streamChunkTokens)"]
      + (cage.input + cage.output).map {
        "\($0.validator.name) \($0.policy) \($0.threshold) \($0.timeout.map { "\($0)" } ?? "-") \($0.maxAttempts) "
          + "\($0.appendFindingsToPrompt) \($0.checksStreams) \($0.validator.rules.map(\.id))"
      }
  }

  func testAFullConfigurationIsTheSameCageAsItsJSONTwin() throws {
    let json = try CageConfig.parse(
      Data(
        #"""
        {"max_input_bytes": 1000, "stream_chunk_tokens": 8,
         "input": [{"name": "prompt_injection"}],
         "output": [
           {"name": "secrets", "policy": "fix", "threshold": "medium", "timeout_ms": 250, "entropy_threshold": 4.0},
           {"name": "word_list", "words": ["gets(", "no"], "policy": "regenerate", "max_attempts": 5,
            "append_findings_to_prompt": true},
           {"name": "pii", "rules": {"disable": ["text.pii.phone"]}, "policy": "filter"},
           {"name": "json", "schema": {"type": "object", "required": ["a"]}, "stream": false},
           {"name": "c_code", "threshold": "high", "rules": {"disable": ["c.dangerous-function.gets"]}}
         ]}
        """#.utf8), source: "cage.json")
    let yaml = try parse(
      """
      # The same cage as the JSON above.
      max_input_bytes: 1000
      stream_chunk_tokens: 8
      input:
        - name: prompt_injection
      output:
        - name: secrets
          policy: fix
          threshold: medium
          timeout_ms: 250
          entropy_threshold: 4.0
        - name: word_list
          words: ["gets(", no]      # YAML 1.2: `no` is a string here, not false
          policy: regenerate
          max_attempts: 5
          append_findings_to_prompt: true
        - {name: pii, rules: {disable: [text.pii.phone]}, policy: filter}
        - name: json
          schema:
            type: object
            required: [a]
          stream: false
        - name: c_code
          threshold: high
          rules:
            disable:
              - c.dangerous-function.gets
      """)
    XCTAssertEqual(summary(yaml), summary(json))
    XCTAssertEqual(yaml.output.map(\.policy), [.fix, .regenerate, .filter, .exception, .exception])
    XCTAssertEqual((yaml.output[0].validator as? SecretsValidator)?.base64EntropyThreshold, 4.0)
    XCTAssertEqual(yaml.output[0].timeout, 0.25)
    XCTAssertEqual(try yaml.output[1].validator.validate("say no").map(\.ruleId), ["text.wordlist.banned"])
    XCTAssertEqual(try yaml.output[3].validator.validate(#"{"b": 1}"#).count, 1, "schema: a is required")
    XCTAssertEqual((yaml.output[4].validator as? CCodeValidator)?.enabledRules?.contains("c.dangerous-function.gets"), false)
  }

  func testMistakesAreTheJSONErrorsWithTheLine() {
    XCTAssertTrue(
      error("output:\n  - name: secretz\n").contains(
        "cage.yml:2: output[0] (secretz): unknown validator 'secretz'; allowed validators: c_code, classifier, json"),
      error("output:\n  - name: secretz\n"))
    let policy = error("output:\n  - name: pii\n    policy: retry\n")
    XCTAssertTrue(
      policy.contains("cage.yml:3: output[0] (pii): unknown policy 'retry'; allowed policies: exception, reask, regenerate"),
      policy)
    let key = error("output:\n  - name: word_list\n    words: [x]\n    wrds: [y]\n")
    XCTAssertTrue(key.contains("cage.yml:4: output[0] (word_list): unknown key 'wrds'; allowed keys: name, policy"), key)
    let top = error("input: []\noutputs: []\n")
    XCTAssertTrue(top.contains("cage.yml:2: unknown key 'outputs'; allowed keys: input, output"), top)
    let type = error("output:\n  - name: pii\n\n    max_attempts: three\n")
    XCTAssertTrue(type.contains("cage.yml:4: output[0] (pii): 'max_attempts' must be a whole number ≥ 1"), type)
    let threshold = error("output:\n  - name: pii\n    threshold: severe\n")
    XCTAssertTrue(
      threshold.contains("cage.yml:3: output[0] (pii): 'threshold' is 'severe'; allowed values: note, low, medium"),
      threshold)
    let rule = error("output:\n  - name: pii\n    rules:\n      disable: [text.pii.ssn]\n")
    XCTAssertTrue(rule.contains("cage.yml:4: output[0] (pii): rules: unknown rule 'text.pii.ssn'; pii's rules"), rule)
    XCTAssertTrue(error("output:\n  - policy: fix\n").contains("cage.yml:2: output[0]: 'name' is required"))
    let notList = error("output:\n  name: pii\n")
    XCTAssertTrue(notList.contains("cage.yml:1: 'output' must be a list of validator objects"), notList)
    XCTAssertTrue(error("# nothing but a comment\n").contains("cage.yml: the YAML document is empty"))
    XCTAssertTrue(error("input: []\n").contains("no validators; list some under input: or output:"))
    XCTAssertTrue(error("- 1\n- 2\n").contains("cage.yml:1 must be a YAML mapping"), error("- 1\n- 2\n"))
    let regex = error("output:\n  - name: regex\n    forbid:\n      - \"(x\"\n")
    XCTAssertTrue(regex.contains("cage.yml:3: output[0] (regex): forbid"), regex)
    XCTAssertTrue(regex.contains("not a valid regular expression"), regex)
    // YAML 1.1's yes/no are not booleans: a clear type error, not a silent true.
    let yes = error("output:\n  - name: json\n    stream: yes\n")
    XCTAssertTrue(yes.contains("cage.yml:3: output[0] (json): 'stream' must be true or false"), yes)
    // A quoted number is a string.
    let quoted = error("output:\n  - name: pii\n    max_attempts: \"3\"\n")
    XCTAssertTrue(quoted.contains("'max_attempts' must be a whole number"), quoted)
  }

  func testBrokenYAMLIsAClearErrorWithLineAndColumn() {
    let indent = error("output:\n  - name: pii\n   policy: fix\n")
    XCTAssertTrue(indent.hasPrefix("cage.yml:3:"), indent)
    XCTAssertTrue(indent.contains("not valid YAML"), indent)
    let unclosed = error("output: [ {name: pii}\n")
    XCTAssertTrue(unclosed.hasPrefix("cage.yml:2:"), unclosed)
    XCTAssertTrue(unclosed.contains("not valid YAML"), unclosed)
    let tab = error("output:\n\t- name: pii\n")
    XCTAssertTrue(tab.hasPrefix("cage.yml:2:") && tab.contains("not valid YAML"), tab)
    let duplicate = error("output:\n  - name: pii\n    policy: fix\n    policy: noop\n")
    XCTAssertTrue(duplicate.contains("cage.yml:3: not valid YAML: the key 'policy' appears more than once"), duplicate)
    let twoDocuments = error("output:\n  - name: pii\n---\noutput: []\n")
    XCTAssertTrue(twoDocuments.contains("not valid YAML: but found another document"), twoDocuments)
    let undefinedAlias = error("output:\n  - *missing\n")
    XCTAssertTrue(undefinedAlias.contains("cage.yml:2:") && undefinedAlias.contains("undefined alias"), undefinedAlias)
    let tag = error("output:\n  - name: pii\n    policy: !!binary aGVsbG8=\n")
    XCTAssertTrue(tag.contains("cage.yml:3: the YAML tag 'tag:yaml.org,2002:binary' is not read"), tag)
  }

  func testAliasesWorkAndAliasBombsAreRefused() throws {
    let shared = try parse("output: &w\n  - name: word_list\n    words: [gets]\ninput: *w\n")
    XCTAssertEqual(shared.input.map(\.validator.name), ["word_list"])
    XCTAssertEqual(shared.output.map(\.validator.name), ["word_list"])
    var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in 1...9 { bomb += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
    let start = Date()
    let refused = error(bomb)
    XCTAssertTrue(refused.contains("expands to more than 100000 values"), refused)
    XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    // Nesting: libyaml's own limit (1000) or Loom's (JSON's 256), an error either way, no crash.
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    XCTAssertTrue(error(deep).contains("cage.yml"), error(deep))
    let medium = "output: " + String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
    XCTAssertTrue(error(medium).contains("nesting deeper than the 256 levels"), error(medium))
  }
}
