import Foundation

/// The subset of JSON Schema (draft 2020-12 keywords) the cage checks: `type` (a name or a list), `properties`,
/// `required`, `additionalProperties` (false or a schema), `enum`, `const`, `items` (one schema for every element),
/// `minItems`/`maxItems`, `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum` (numbers),
/// `minLength`/`maxLength`, `pattern`. Any other keyword is a configuration error, so a schema never passes by
/// being silently half-checked.
public struct JSONSchemaSubset: Sendable {
  public static let keywords: Set<String> = [
    "type", "properties", "required", "additionalProperties", "enum", "const", "items", "minItems", "maxItems",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
    "$schema", "title", "description",
  ]
  static let typeNames: Set<String> = ["null", "boolean", "integer", "number", "string", "array", "object"]

  let schema: JSONValue
  /// Compiled `pattern`s by their text (NSRegularExpression is immutable and thread-safe).
  let patterns: [String: NSRegularExpression]

  /// Checks the schema itself; `what` names it in errors (e.g. "cage.json: output[0] (json): schema").
  public init(_ schema: JSONValue, what: String) throws {
    var patterns: [String: NSRegularExpression] = [:]
    try Self.check(schema, path: "#", what: what, patterns: &patterns)
    self.schema = schema
    self.patterns = patterns
  }

  static func check(_ s: JSONValue, path: String, what: String, patterns: inout [String: NSRegularExpression]) throws {
    guard case .object(let o) = s else {
      if case .bool = s { return }
      throw CageError("\(what): the schema at \(path) is not an object")
    }
    for key in o.keys where !keywords.contains(key) {
      throw CageError(
        "\(what): the schema at \(path) uses '\(key)', which Loom's JSON Schema subset does not check; allowed: \(keywords.sorted().joined(separator: ", "))"
      )
    }
    switch o["type"] {
    case .string(let t)? where !typeNames.contains(t):
      throw CageError("\(what): \(path)/type '\(t)' is not one of \(typeNames.sorted().joined(separator: ", "))")
    case .array(let ts)?:
      for t in ts {
        guard case .string(let n) = t, typeNames.contains(n) else {
          throw CageError("\(what): \(path)/type lists something other than \(typeNames.sorted().joined(separator: ", "))")
        }
      }
    case nil, .string?: break
    default: throw CageError("\(what): \(path)/type must be a type name or a list of them")
    }
    if case .object(let props)? = o["properties"] {
      for (k, v) in props { try check(v, path: "\(path)/properties/\(k)", what: what, patterns: &patterns) }
    }
    if let items = o["items"] { try check(items, path: path + "/items", what: what, patterns: &patterns) }
    if let extra = o["additionalProperties"] {
      try check(extra, path: path + "/additionalProperties", what: what, patterns: &patterns)
    }
    if case .string(let p)? = o["pattern"] {
      patterns[p] = try configRegex(p, what: "\(what): \(path)/pattern")
    }
  }

  /// Every violation, each with its JSON pointer.
  public func violations(of value: JSONValue) -> [String] {
    var out: [String] = []
    check(value, against: schema, at: "", into: &out)
    return out
  }

  func check(_ v: JSONValue, against s: JSONValue, at path: String, into out: inout [String]) {
    let here = path.isEmpty ? "/" : path
    guard case .object(let o) = s else {
      if case .bool(false) = s { out.append("\(here): no value is allowed here") }
      return
    }
    if let t = o["type"] {
      let wanted: [String]
      switch t {
      case .string(let n): wanted = [n]
      case .array(let a): wanted = a.compactMap { if case .string(let n) = $0 { n } else { nil } }
      default: wanted = []
      }
      if !v.typeNames.contains(where: wanted.contains) {
        out.append("\(here): expected \(wanted.joined(separator: " or ")), got \(v.typeNames[0])")
        return
      }
    }
    if case .array(let options)? = o["enum"], !options.contains(v) { out.append("\(here): not one of the enum values") }
    if let c = o["const"], c != v { out.append("\(here): not the const value") }
    switch v {
    case .number(let d):
      if case .number(let m)? = o["minimum"], d < m { out.append("\(here): \(d) is less than minimum \(m)") }
      if case .number(let m)? = o["maximum"], d > m { out.append("\(here): \(d) is more than maximum \(m)") }
      if case .number(let m)? = o["exclusiveMinimum"], d <= m { out.append("\(here): \(d) is not above \(m)") }
      if case .number(let m)? = o["exclusiveMaximum"], d >= m { out.append("\(here): \(d) is not below \(m)") }
    case .string(let str):
      if case .number(let m)? = o["minLength"], Double(str.count) < m {
        out.append("\(here): \(str.count) characters, fewer than minLength \(Int(m))")
      }
      if case .number(let m)? = o["maxLength"], Double(str.count) > m {
        out.append("\(here): \(str.count) characters, more than maxLength \(Int(m))")
      }
      if case .string(let p)? = o["pattern"], let regex = patterns[p],
        regex.firstMatch(in: str, range: NSRange(str.startIndex..., in: str)) == nil
      {
        out.append("\(here): does not match pattern \(p)")
      }
    case .array(let items):
      if case .number(let m)? = o["minItems"], Double(items.count) < m {
        out.append("\(here): \(items.count) items, fewer than minItems \(Int(m))")
      }
      if case .number(let m)? = o["maxItems"], Double(items.count) > m {
        out.append("\(here): \(items.count) items, more than maxItems \(Int(m))")
      }
      if let itemSchema = o["items"] {
        for (i, item) in items.enumerated() { check(item, against: itemSchema, at: "\(path)/\(i)", into: &out) }
      }
    case .object(let fields):
      if case .array(let required)? = o["required"] {
        for case .string(let k) in required where fields[k] == nil { out.append("\(here): required property '\(k)' is missing") }
      }
      var props: [String: JSONValue] = [:]
      if case .object(let p)? = o["properties"] { props = p }
      for k in fields.keys.sorted() {
        let child = "\(path)/\(k)"
        if let ps = props[k] {
          check(fields[k]!, against: ps, at: child, into: &out)
        } else if let extra = o["additionalProperties"] {
          if case .bool(false) = extra {
            out.append("\(here): property '\(k)' is not allowed (additionalProperties is false)")
          } else {
            check(fields[k]!, against: extra, at: child, into: &out)
          }
        }
      }
    default: break
    }
  }
}
