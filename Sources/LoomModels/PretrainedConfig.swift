import Foundation
import LoomCore
import LoomIO

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
  /// Roughly how many parameters the model has (nil when the family does not say):
  /// checked against the weights before a model is built from a directory.
  var parameterEstimate: Int? { get }
  /// Keys transformers types as float only (its strict config dataclasses reject `0` for
  /// `0.0`): written with a decimal point.
  static var floatOnlyKeys: [String] { get }
}

/// One config.json field: its key and the property holding it.
public struct ConfigField<Root> {
  public let key: String
  let decode: (KeyedDecodingContainer<JSONKey>, inout Root) throws -> Void
  let encode: (Root, inout KeyedEncodingContainer<JSONKey>) throws -> Void
  /// The value when it is an integer (for size summaries).
  let integer: (Root) -> Int?
  /// Every integer the value holds (an Int, an optional one, a list of them).
  let integers: (Root) -> [Int]

  public init<Value: Codable>(_ key: String, _ path: WritableKeyPath<Root, Value>) {
    self.key = key
    let k = JSONKey(key)
    decode = { c, root in
      if c.contains(k) { root[keyPath: path] = try c.decode(Value.self, forKey: k) }
    }
    encode = { root, c in try c.encode(root[keyPath: path], forKey: k) }
    integer = { root in root[keyPath: path] as? Int }
    integers = { root in
      let value = root[keyPath: path]
      return (value as? Int).map { [$0] } ?? (value as? [Int]) ?? (value as? TokenIdList)?.ids ?? []
    }
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

extension PretrainedConfig {
  public var parameterEstimate: Int? { nil }
  public static var floatOnlyKeys: [String] { [] }

  /// Σ Π of `terms` with checked arithmetic (Int.max on overflow).
  public static func count(_ terms: [[Int]]) -> Int { WeightsSizeCheck.parameterCount(terms) }

  /// Largest model Loom builds from a config: 2^32 parameters (16 GiB in float32).
  public static var parameterLimit: Int { 1 << 32 }

  /// Throws when `terms` (each a product of config sizes, one per weight) add up to more
  /// than `parameterLimit`; checked arithmetic, before anything is allocated.
  public static func checkParameterCount(_ terms: [[Int]], fields: String) throws {
    let total = count(terms)
    guard total <= parameterLimit else {
      throw LoomError(
        "config: \(fields) make a model of \(total == Int.max ? "more than 2^63" : "\(total)") parameters, beyond Loom's limit of \(parameterLimit); is config.json right?")
    }
  }
}

/// Reading config.json with errors that name the file, the field and what it should hold.
public enum ConfigFile {
  /// config.json files are small; a larger one is not a config.
  public static let maxBytes = 16 << 20

  /// The bytes of `path`; a missing file says what a model directory needs.
  static func read(_ path: String) throws -> Data {
    do {
      return try FileInput.read(path, limit: maxBytes)
    } catch let e as FileReadError where e.reason == "no such file" {
      throw LoomError("\(path) is missing: a model directory needs config.json and model.safetensors")
    } catch let e as FileReadError {
      throw LoomError(e.description)
    }
  }

  /// The JSON object of `path` (a missing file or bad JSON is a clear error).
  public static func object(at path: String) throws -> [String: Any] {
    let data = try read(path)
    let json: Any
    do { json = try JSONInput.parse(data, path: path) } catch let e as JSONInputError { throw LoomError(e.description) }
    guard let object = json as? [String: Any] else { throw LoomError("\(path) is not a JSON object") }
    return object
  }

  /// Decodes and validates `type` from the file at `path`.
  public static func decode<C: PretrainedConfig>(_ type: C.Type, at path: String) throws -> C {
    try decode(C.self, from: read(path), path: path)
  }

  /// Decodes and validates `type` from `data`, naming `path` in errors.
  public static func decode<C: PretrainedConfig>(_ type: C.Type, from data: Data, path: String) throws -> C {
    let config: C
    do {
      config = try JSONDecoder().decode(C.self, from: data)
    } catch let error as DecodingError {
      throw LoomError("\(path): \(JSONInput.describe(error, decoding: C.self, from: data))")
    }
    do { try config.validate() } catch { throw LoomError("\(path): \(error)") }
    return config
  }
}
