/// Typed reads of one JSON object of a cage file, each error naming the file, the object and the key.
struct ConfigObject {
  let fields: [String: JSONValue]
  /// Where the object is, e.g. "cage.json: output[1] (word_list)".
  let what: String

  init(_ value: JSONValue, what: String) throws {
    guard case .object(let o) = value else { throw CageError("\(what) must be a JSON object") }
    fields = o
    self.what = what
  }

  /// Throws for the first key not in `allowed`, listing the allowed ones.
  func checkKeys(_ allowed: [String]) throws {
    for key in fields.keys.sorted() where !allowed.contains(key) {
      throw CageError("\(what): unknown key '\(key)'; allowed keys: \(allowed.joined(separator: ", "))")
    }
  }

  func wrongType(_ key: String, _ expected: String) -> CageError {
    CageError("\(what): '\(key)' must be \(expected)")
  }

  func string(_ key: String) throws -> String? {
    guard let v = fields[key] else { return nil }
    guard case .string(let s) = v else { throw wrongType(key, "a string") }
    return s
  }

  func bool(_ key: String) throws -> Bool? {
    guard let v = fields[key] else { return nil }
    guard case .bool(let b) = v else { throw wrongType(key, "true or false") }
    return b
  }

  func number(_ key: String) throws -> Double? {
    guard let v = fields[key] else { return nil }
    guard case .number(let d) = v else { throw wrongType(key, "a number") }
    return d
  }

  /// A whole number of at least `minimum`.
  func int(_ key: String, minimum: Int) throws -> Int? {
    guard let v = fields[key] else { return nil }
    guard case .number(let d) = v, d.rounded() == d, d >= Double(minimum), d < 1e15 else {
      throw wrongType(key, "a whole number ≥ \(minimum)")
    }
    return Int(d)
  }

  func strings(_ key: String) throws -> [String]? {
    guard let v = fields[key] else { return nil }
    guard case .array(let a) = v else { throw wrongType(key, "a list of strings") }
    return try a.map {
      guard case .string(let s) = $0 else { throw wrongType(key, "a list of strings") }
      return s
    }
  }

  func severity(_ key: String) throws -> Severity? {
    guard let s = try string(key) else { return nil }
    guard let v = Severity(rawValue: s) else {
      throw CageError(
        "\(what): '\(key)' is '\(s)'; allowed values: \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return v
  }
}
