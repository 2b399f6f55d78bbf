/// The text must be valid JSON (the content of a ```json fence when the text has one), and with a schema, match it.
public struct JSONValidator: Validator {
  public let name = "json"
  public var schema: JSONSchemaSubset?

  public init(schema: JSONSchemaSubset? = nil) { self.schema = schema }

  static let invalid = RuleDescription(id: "text.json.invalid", severity: .high, summary: "not valid JSON")
  static let schemaRule = RuleDescription(id: "text.json.schema", severity: .high, summary: "JSON that does not match the schema")
  public static let allRules = [invalid, schemaRule]
  public var rules: [RuleDescription] { Self.allRules }

  /// The JSON part of a model's answer: the first ```json (or bare ```) fence's content, else the whole text.
  static func extract(_ text: String) -> String {
    guard let open = text.range(of: "```") else { return text }
    let afterFence = text[open.upperBound...]
    guard let newline = afterFence.firstIndex(of: "\n") else { return text }
    let body = afterFence[afterFence.index(after: newline)...]
    guard let close = body.range(of: "```") else { return text }
    return String(body[..<close.lowerBound])
  }

  public func validate(_ text: String) throws -> [Finding] {
    let value: JSONValue
    do {
      value = try JSONValue.parse(Self.extract(text))
    } catch {
      return [Finding(ruleId: Self.invalid.id, severity: Self.invalid.severity, message: "\(error)")]
    }
    return (schema?.violations(of: value) ?? []).map {
      Finding(ruleId: Self.schemaRule.id, severity: Self.schemaRule.severity, message: "schema: \($0)")
    }
  }
}
