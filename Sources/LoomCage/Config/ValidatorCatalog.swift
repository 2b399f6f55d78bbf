import Foundation

/// The validators a cage file can name, with the options each takes.
public enum ValidatorCatalog {
  /// Keys every validator entry takes.
  static let commonKeys = [
    "name", "policy", "threshold", "max_attempts", "timeout_ms", "append_findings_to_prompt", "stream", "rules",
  ]
  /// Each validator's own keys.
  static let optionKeys: [String: [String]] = [
    "c_code": [],
    "secrets": ["entropy_threshold", "hex_entropy_threshold", "min_entropy_length"],
    "pii": [],
    "prompt_injection": [],
    "length": ["min_chars", "max_chars", "max_lines"],
    "json": ["schema"],
    "regex": ["forbid", "require", "case_insensitive", "severity", "mask"],
    "word_list": ["words", "case_sensitive", "whole_words", "severity"],
    "classifier": ["model", "label", "score_threshold", "severity"],
  ]
  public static var names: [String] { optionKeys.keys.sorted() }

  /// Every rule Loom's validators report: the C analyser's, then the text and model validators'.
  public static var allRules: [RuleDescription] {
    CCodeValidator.allRules + textRules + ClassifierValidator.allRules + [SafetyCage.validatorError]
  }
  public static var textRules: [RuleDescription] {
    SecretsValidator.allRules + PIIValidator.allRules + PromptInjectionValidator.allRules + LengthValidator.allRules
      + JSONValidator.allRules + RegexValidator.allRules + WordListValidator.allRules
  }

  /// Builds one validator from its entry; `baseDirectory` resolves a classifier's relative model path.
  static func validator(_ o: ConfigObject, name: String, threshold: Severity, baseDirectory: String) throws -> any Validator {
    switch name {
    case "c_code":
      return CCodeValidator(minimumSeverity: threshold)
    case "secrets":
      let d = SecretsValidator()
      return SecretsValidator(
        base64EntropyThreshold: try o.number("entropy_threshold") ?? d.base64EntropyThreshold,
        hexEntropyThreshold: try o.number("hex_entropy_threshold") ?? d.hexEntropyThreshold,
        minEntropyLength: try o.int("min_entropy_length", minimum: 1) ?? d.minEntropyLength)
    case "pii": return PIIValidator()
    case "prompt_injection": return PromptInjectionValidator()
    case "length":
      let v = LengthValidator(
        minChars: try o.int("min_chars", minimum: 0), maxChars: try o.int("max_chars", minimum: 0),
        maxLines: try o.int("max_lines", minimum: 0))
      if v.minChars == nil && v.maxChars == nil && v.maxLines == nil {
        throw CageError("\(o.what): give at least one of min_chars, max_chars, max_lines")
      }
      return v
    case "json":
      return JSONValidator(schema: try o.fields["schema"].map { try JSONSchemaSubset($0, what: "\(o.at("schema")): schema") })
    case "regex":
      let ci = try o.bool("case_insensitive") ?? false
      let forbid = try (o.strings("forbid") ?? []).map { try configRegex($0, caseInsensitive: ci, what: "\(o.at("forbid")): forbid") }
      let require = try (o.strings("require") ?? []).map {
        try configRegex($0, caseInsensitive: ci, what: "\(o.at("require")): require")
      }
      if forbid.isEmpty && require.isEmpty { throw CageError("\(o.what): give 'forbid' or 'require' patterns") }
      return RegexValidator(
        forbid: forbid, require: require, severity: try o.severity("severity") ?? .medium,
        mask: try o.string("mask") ?? "[REMOVED]")
    case "word_list":
      guard let words = try o.strings("words") else { throw CageError("\(o.what): 'words' (a list of strings) is required") }
      do {
        return try WordListValidator(
          words: words, caseSensitive: try o.bool("case_sensitive") ?? false, wholeWords: try o.bool("whole_words") ?? true,
          severity: try o.severity("severity") ?? .high)
      } catch let e as CageError { throw CageError("\(o.what): \(e.description)") }
    case "classifier":
      guard let model = try o.string("model"), let label = try o.string("label") else {
        throw CageError("\(o.what): 'model' (a sequence-classification model directory) and 'label' are required")
      }
      let path = model.hasPrefix("/") ? model : baseDirectory + "/" + model
      do {
        return try ClassifierValidator(
          directory: path, label: label, threshold: try o.number("score_threshold") ?? 0.5,
          severity: try o.severity("severity") ?? .high)
      } catch let e as CageError { throw CageError("\(o.what): \(e.description)") }
    default:
      throw CageError("\(o.what): unknown validator '\(name)'; allowed validators: \(names.joined(separator: ", "))")
    }
  }
}
