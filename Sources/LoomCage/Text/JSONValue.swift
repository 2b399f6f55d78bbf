import Foundation

/// A parsed JSON value that keeps booleans, numbers and null apart (JSONSerialization's NSNumber does not).
public indirect enum JSONValue: Decodable, Equatable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  public init(from decoder: Decoder) throws {
    // Arrays and objects are told apart by their containers, so an error inside one keeps its own path: a `try?`
    // chain read a list holding one bad number as "expected an object, found an array" (a raw DecodingError).
    if var list = try? decoder.unkeyedContainer() {
      var items: [JSONValue] = []
      while !list.isAtEnd { items.append(try list.decode(JSONValue.self)) }
      self = .array(items)
      return
    }
    if let object = try? decoder.container(keyedBy: Key.self) {
      var fields: [String: JSONValue] = [:]
      for key in object.allKeys { fields[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
      self = .object(fields)
      return
    }
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let d = try? c.decode(Double.self) {
      self = .number(d)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else {
      throw DecodingError.dataCorruptedError(in: c, debugDescription: "a number beyond ±1.8e308 (a double's range)")
    }
  }

  private struct Key: CodingKey {
    let stringValue: String
    init(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
  }

  /// Deepest nesting parsed: deeper documents are refused before the recursive decoder sees them.
  public static let maxDepth = 256

  /// Parses `text`; the error says where the JSON is broken.
  public static func parse(_ text: String) throws -> JSONValue {
    let depth = nestingDepth(text)
    guard depth <= maxDepth else {
      throw CageError("not valid JSON here: nesting \(depth) levels deep, more than the \(maxDepth) Loom parses")
    }
    do {
      return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    } catch let DecodingError.dataCorrupted(context) {
      let why = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
      let at = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
      throw CageError("not valid JSON\(at.isEmpty ? "" : " at " + at.drop(while: { $0 == "." })): \(why ?? context.debugDescription)")
    } catch {
      throw CageError("not valid JSON: \(error)")
    }
  }

  /// The deepest `[`/`{` nesting outside strings (a linear scan).
  static func nestingDepth(_ text: String) -> Int {
    var depth = 0
    var deepest = 0
    var inString = false
    var escaped = false
    for b in text.utf8 {
      if inString {
        if escaped {
          escaped = false
        } else if b == UInt8(ascii: "\\") {
          escaped = true
        } else if b == UInt8(ascii: "\"") {
          inString = false
        }
        continue
      }
      switch b {
      case UInt8(ascii: "\""): inString = true
      case UInt8(ascii: "["), UInt8(ascii: "{"):
        depth += 1
        deepest = max(deepest, depth)
      case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
      default: break
      }
    }
    return deepest
  }

  /// JSON Schema's type name of this value (`integer` for whole numbers).
  var typeNames: [String] {
    switch self {
    case .null: return ["null"]
    case .bool: return ["boolean"]
    case .number(let d): return d.rounded() == d && abs(d) < 9.007e15 ? ["integer", "number"] : ["number"]
    case .string: return ["string"]
    case .array: return ["array"]
    case .object: return ["object"]
    }
  }
}
