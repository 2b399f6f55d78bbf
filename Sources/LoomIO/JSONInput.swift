import Foundation

/// A JSON input file that does not hold what it should: names the file and the field.
public struct JSONInputError: Error, CustomStringConvertible, Equatable, Sendable {
  public let path: String
  public let message: String
  public init(path: String, _ message: String) {
    self.path = path
    self.message = message
  }
  public var description: String { "\(path): \(message)" }
}

/// Decoding untrusted JSON files with errors like "config.json: field 'n_embd' must be an
/// integer, got \"abc\"" instead of a `DecodingError` dump.
public enum JSONInput {
  /// Decodes `type` from the file at `path` (read through `FileInput`, so a missing file
  /// says so plainly).
  public static func decode<T: Decodable>(_ type: T.Type, at path: String, limit: Int = FileInput.defaultLimit) throws -> T {
    try decode(T.self, from: FileInput.read(path, limit: limit), path: path)
  }

  /// Decodes `type` from `data`, naming `path` in errors.
  public static func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
    do {
      return try JSONDecoder().decode(T.self, from: data)
    } catch let error as DecodingError {
      throw JSONInputError(path: path, describe(error, decoding: T.self, from: data))
    }
  }

  /// The JSON value of `data` (fragments allowed), or a message saying where parsing failed.
  public static func parse(_ data: Data, path: String) throws -> Any {
    do {
      return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    } catch {
      let ns = error as NSError
      let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String).map { " (\($0))" } ?? ""
      throw JSONInputError(path: path, "not valid JSON\(detail)")
    }
  }

  /// "field 'a.b' must be an integer, got a string": the field, the type wanted and what was found.
  public static func describe<T: Decodable>(_ error: DecodingError, decoding type: T.Type, from data: Data) -> String {
    let root = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    switch error {
    case .typeMismatch(let wanted, let ctx):
      return "field '\(field(ctx.codingPath))' must be \(typeName(wanted)), got \(found(root, ctx.codingPath))"
    case .valueNotFound(let wanted, let ctx):
      return "field '\(field(ctx.codingPath))' must be \(typeName(wanted)), got null"
    case .keyNotFound(let key, let ctx):
      return "field '\(field(ctx.codingPath + [key]))' is required"
    case .dataCorrupted(let ctx):
      guard let root else { return "not valid JSON" }
      if !ctx.codingPath.isEmpty {
        return "field '\(field(ctx.codingPath))': \(ctx.debugDescription) (got \(found(root, ctx.codingPath)))"
      }
      // Foundation reports an out-of-range number without its path: find the top-level
      // field that fails on its own.
      if let object = root as? [String: Any] {
        for key in object.keys.sorted() {
          guard let one = try? JSONSerialization.data(withJSONObject: [key: object[key]!], options: [.fragmentsAllowed])
          else { continue }
          if case .dataCorrupted? = decodingError(T.self, one) {
            return "field '\(key)' holds \(render(object[key]!)), which is out of range or malformed for its type"
          }
        }
      }
      return "a value is out of range or malformed (\(ctx.debugDescription))"
    @unknown default:
      return "\(error)"
    }
  }

  private static func decodingError<T: Decodable>(_ type: T.Type, _ data: Data) -> DecodingError? {
    do {
      _ = try JSONDecoder().decode(T.self, from: data)
      return nil
    } catch { return error as? DecodingError }
  }

  static func field(_ path: [CodingKey]) -> String {
    var out = ""
    for k in path {
      if let i = k.intValue {
        out += "[\(i)]"
      } else {
        out += (out.isEmpty ? "" : ".") + k.stringValue
      }
    }
    return out.isEmpty ? "(top level)" : out
  }

  /// What the file holds at `path`, rendered short.
  static func found(_ root: Any?, _ path: [CodingKey]) -> String {
    var value = root
    for k in path {
      if let i = k.intValue, let a = value as? [Any] {
        value = i >= 0 && i < a.count ? a[i] : nil
      } else if let o = value as? [String: Any] {
        value = o[k.stringValue]
      } else {
        value = nil
      }
    }
    return value.map(render) ?? "another type"
  }

  static func render(_ value: Any) -> String {
    switch value {
    case is NSNull: return "null"
    case let s as String: return "a string \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
    case let n as NSNumber:
      if String(cString: n.objCType) == "c" { return n.boolValue ? "true" : "false" }
      return "the number \(n)"
    case let a as [Any]: return "a list of \(a.count)"
    case is [String: Any]: return "an object"
    default: return "\(type(of: value))"
    }
  }

  public static func typeName(_ type: Any.Type) -> String {
    let name = "\(type)"
    switch name {
    case "Int", "Int64", "Int32", "UInt64", "UInt32", "UInt8", "Optional<Int>": return "an integer"
    case "Double", "Float", "Optional<Double>", "Optional<Float>": return "a number"
    case "Bool", "Optional<Bool>": return "true or false"
    case "String", "Optional<String>": return "a string"
    case "Array<Int>": return "a list of integers"
    case "Array<String>": return "a list of strings"
    case "Array<Any>": return "a list"
    case "Dictionary<String, Any>": return "an object"
    default: return name.hasPrefix("Array") ? "a list" : name.hasPrefix("Dictionary") ? "an object" : name
    }
  }
}
