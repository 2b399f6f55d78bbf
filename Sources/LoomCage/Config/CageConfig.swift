import Foundation
import LoomIO

/// A cage file: one JSON object (or the same structure in YAML) in the spirit of NeMo Guardrails' config.yml —
/// `{"input": [validator, …], "output": [validator, …], "max_input_bytes": N, "stream_chunk_tokens": N}` where each
/// validator is `{"name": …, "policy": …, "threshold": severity, "max_attempts": N, "timeout_ms": N,
/// "append_findings_to_prompt": bool, "stream": bool, "rules": {"enable": [ids]} or {"disable": [ids]}, options…}`.
/// Unknown validators, policies and keys are errors that name the key and the allowed values (and, in YAML, the line).
public enum CageConfig {
  static let topKeys = ["input", "output", "max_input_bytes", "stream_chunk_tokens"]
  /// Largest cage file read.
  public static let maxFileBytes = 4 << 20

  /// Reads a cage file: `.json` as JSON, `.yml`/`.yaml` as YAML, any other name by its first character.
  public static func load(path: String) throws -> SafetyCage {
    let data: Data
    do { data = try FileInput.read(path, limit: maxFileBytes) } catch { throw CageError("cage file: \(error)") }
    let directory = (path as NSString).deletingLastPathComponent
    return try parse(data, source: path, baseDirectory: directory.isEmpty ? "." : directory)
  }

  /// Parses a cage file's bytes; `format` nil takes it from `source`'s extension or the content.
  public static func parse(
    _ data: Data, source: String = "cage.json", baseDirectory: String = ".", format: CageFileFormat? = nil
  ) throws -> SafetyCage {
    guard let text = String(data: data, encoding: .utf8) else { throw CageError("\(source): not UTF-8 text") }
    let format = format ?? CageFileFormat(path: source, contents: data)
    let root: JSONValue
    var lines = ConfigLines()
    switch format {
    case .json:
      do { root = try JSONValue.parse(text) } catch { throw CageError("\(source): \(error)") }
    case .yaml:
      let parsed = try YAMLConfig.parse(text, source: source)
      root = parsed.0
      lines = parsed.1
    }
    let top = try ConfigObject(root, source: source, lines: lines, format: format)
    try top.checkKeys(topKeys)
    var cage = SafetyCage()
    cage.maxInputBytes = try top.int("max_input_bytes", minimum: 1) ?? cage.maxInputBytes
    cage.streamChunkTokens = try top.int("stream_chunk_tokens", minimum: 1) ?? cage.streamChunkTokens
    cage.input = try entries(top, "input", baseDirectory: baseDirectory)
    cage.output = try entries(top, "output", baseDirectory: baseDirectory)
    if cage.input.isEmpty && cage.output.isEmpty {
      let example = format == .json ? "\"input\" or \"output\"" : "input: or output:"
      throw CageError("\(source): no validators; list some under \(example)")
    }
    return cage
  }

  static func entries(_ top: ConfigObject, _ key: String, baseDirectory: String) throws -> [CageEntry] {
    guard let value = top.fields[key] else { return [] }
    guard case .array(let items) = value else { throw top.wrongType(key, "a list of validator objects") }
    return try items.enumerated().map { i, item in
      var o = try top.item(item, of: key, index: i, label: "\(key)[\(i)]")
      guard let name = try o.string("name") else {
        throw CageError("\(o.what): 'name' is required; allowed validators: \(ValidatorCatalog.names.joined(separator: ", "))")
      }
      o = try top.item(item, of: key, index: i, label: "\(key)[\(i)] (\(name))")
      guard let own = ValidatorCatalog.optionKeys[name] else {
        throw CageError(
          "\(o.at("name")): unknown validator '\(name)'; allowed validators: \(ValidatorCatalog.names.joined(separator: ", "))")
      }
      try o.checkKeys(ValidatorCatalog.commonKeys + own)
      return try entry(o, name: name, baseDirectory: baseDirectory)
    }
  }

  static func entry(_ o: ConfigObject, name: String, baseDirectory: String) throws -> CageEntry {
    var policy = OnFail.exception
    if let p = try o.string("policy") {
      guard let v = OnFail(rawValue: p) else {
        throw CageError("\(o.at("policy")): unknown policy '\(p)'; allowed policies: \(OnFail.names)")
      }
      policy = v
    }
    let threshold = try o.severity("threshold") ?? .note
    var validator = try ValidatorCatalog.validator(o, name: name, threshold: threshold, baseDirectory: baseDirectory)
    if let r = try o.object("rules") {
      try r.checkKeys(["enable", "disable"])
      let known = validator.rules.map(\.id)
      for key in ["enable", "disable"] {
        for id in try r.strings(key) ?? [] where !known.contains(id) {
          throw CageError("\(r.at(key)): unknown rule '\(id)'; \(name)'s rules: \(known.joined(separator: ", "))")
        }
      }
      var enabled = Set(try r.strings("enable") ?? known)
      enabled.subtract(try r.strings("disable") ?? [])
      if name == "c_code" {
        validator = CCodeValidator(minimumSeverity: threshold, enabledRules: enabled)
      } else {
        validator = RuleFilteredValidator(validator, enabled: enabled)
      }
    }
    let timeoutMs = try o.int("timeout_ms", minimum: 0)
    return CageEntry(
      validator, policy: policy, threshold: threshold,
      timeout: timeoutMs.map { $0 == 0 ? nil : Double($0) / 1000 } ?? 10,
      maxAttempts: try o.int("max_attempts", minimum: 1) ?? 3,
      appendFindingsToPrompt: try o.bool("append_findings_to_prompt") ?? false, stream: try o.bool("stream"))
  }
}

/// The languages with a built-in cage.
public enum CageLanguage: String, CaseIterable, Sendable {
  case c, text

  /// By file extension: C and C++ sources and headers are `c`, everything else `text`.
  public init(path: String) {
    let ext = (path as NSString).pathExtension.lowercased()
    self = ["c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx", "inc"].contains(ext) ? .c : .text
  }
}

extension SafetyCage {
  /// The built-in cage of a language: for C every rule of the C analyser at its default severity; for text every text
  /// validator that needs no options (secrets, PII, prompt injection, and a 1,000,000-character length limit) — JSON,
  /// regex and word-list checks need a schema, patterns or words and come only from a cage file. Policy `exception`.
  public static func defaultCage(_ language: CageLanguage) -> SafetyCage {
    switch language {
    case .c: return SafetyCage(output: [CageEntry(CCodeValidator())])
    case .text:
      return SafetyCage(
        input: [CageEntry(PromptInjectionValidator())],
        output: [
          CageEntry(SecretsValidator()), CageEntry(PIIValidator()), CageEntry(LengthValidator(maxChars: 1_000_000)),
        ])
    }
  }
}
