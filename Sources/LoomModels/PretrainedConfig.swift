import Foundation
import LoomCore

/// A model family's config.json. Properties are declared with Hugging Face's defaults
/// and listed once in `fields` (json key ↔ property), which drives both decoding
/// (missing keys keep the default, `null` sets an optional to nil) and encoding.
public protocol PretrainedConfig: Codable, Sendable {
  /// The `model_type` written to config.json.
  static var modelType: String { get }
  /// Every serialised field, in the order config.json lists them.
  static var fields: [ConfigField<Self>] { get }
  /// Hugging Face's defaults.
  init()
  /// Sizes and values a model can be built from; names the field at fault.
  func validate() throws
}

/// One config.json field: its key and the property holding it.
public struct ConfigField<Root> {
  public let key: String
  let decode: (KeyedDecodingContainer<JSONKey>, inout Root) throws -> Void
  let encode: (Root, inout KeyedEncodingContainer<JSONKey>) throws -> Void
  /// The value when it is an integer (for size summaries).
  let integer: (Root) -> Int?

  public init<Value: Codable>(_ key: String, _ path: WritableKeyPath<Root, Value>) {
    self.key = key
    let k = JSONKey(key)
    decode = { c, root in
      if c.contains(k) { root[keyPath: path] = try c.decode(Value.self, forKey: k) }
    }
    encode = { root, c in try c.encode(root[keyPath: path], forKey: k) }
    integer = { root in root[keyPath: path] as? Int }
  }
}

public struct JSONKey: CodingKey {
  public let stringValue: String
  public init(_ s: String) { stringValue = s }
  public init?(stringValue: String) { self.stringValue = stringValue }
  public var intValue: Int? { nil }
  public init?(intValue: Int) { nil }
}

extension PretrainedConfig {
  /// Decodes `fields` over the defaults; other keys of HF's config are ignored.
  public static func decodeFields(from decoder: Decoder) throws -> Self {
    let c = try decoder.container(keyedBy: JSONKey.self)
    var config = Self()
    for f in fields { try f.decode(c, &config) }
    return config
  }

  /// Writes `model_type` then every field (optionals as `null`, like HF's `to_dict`).
  public func encodeFields(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: JSONKey.self)
    try c.encode(Self.modelType, forKey: JSONKey("model_type"))
    for f in Self.fields { try f.encode(self, &c) }
  }

  /// Checks that each named size is in 1...limit before anything is allocated.
  public static func checkSizes(_ sizes: [(String, Int, Int)]) throws {
    for (name, value, limit) in sizes where value < 1 || value > limit {
      throw LoomError(
        value < 1
          ? "config: \(name) must be positive, got \(value)"
          : "config: \(name) = \(value) is beyond Loom's limit of \(limit); is config.json right?")
    }
  }
}

/// Reading config.json with errors that name the file, the field and what it should hold.
public enum ConfigFile {
  /// The JSON object of `path` (a missing file or bad JSON is a clear error).
  public static func object(at path: String) throws -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw LoomError("\(path) is missing: a model directory needs config.json and model.safetensors")
    }
    guard let json = try? JSONSerialization.jsonObject(with: data), let object = json as? [String: Any] else {
      throw LoomError("\(path) is not a JSON object")
    }
    return object
  }

  /// Decodes and validates `type` from the file at `path`.
  public static func decode<C: PretrainedConfig>(_ type: C.Type, at path: String) throws -> C {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw LoomError("\(path) is missing: a model directory needs config.json and model.safetensors")
    }
    return try decode(C.self, from: data, path: path)
  }

  /// Decodes and validates `type` from `data`, naming `path` in errors.
  public static func decode<C: PretrainedConfig>(_ type: C.Type, from data: Data, path: String) throws -> C {
    let config: C
    do {
      config = try JSONDecoder().decode(C.self, from: data)
    } catch let error as DecodingError {
      throw LoomError("\(path): \(describe(error))")
    }
    do { try config.validate() } catch { throw LoomError("\(path): \(error)") }
    return config
  }

  /// "field 'n_embd' must be an integer, found a string" rather than a DecodingError dump.
  static func describe(_ error: DecodingError) -> String {
    func field(_ path: [CodingKey]) -> String {
      path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .typeMismatch(let type, let ctx):
      return "field '\(field(ctx.codingPath))' must be \(typeName(type)) (\(ctx.debugDescription))"
    case .valueNotFound(let type, let ctx):
      return "field '\(field(ctx.codingPath))' must be \(typeName(type)), found null"
    case .keyNotFound(let key, let ctx):
      return "field '\(field(ctx.codingPath + [key]))' is required"
    case .dataCorrupted(let ctx):
      return ctx.codingPath.isEmpty
        ? "not valid JSON (\(ctx.debugDescription))" : "field '\(field(ctx.codingPath))': \(ctx.debugDescription)"
    @unknown default:
      return "\(error)"
    }
  }

  static func typeName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is Int?.Type: return "an integer"
    case is Double.Type, is Double?.Type, is Float.Type: return "a number"
    case is Bool.Type, is Bool?.Type: return "true or false"
    case is String.Type, is String?.Type: return "a string"
    case is [Int].Type: return "a list of integers"
    case is [String].Type: return "a list of strings"
    default: return "\(type)"
    }
  }
}
