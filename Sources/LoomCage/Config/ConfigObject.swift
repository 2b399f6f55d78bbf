/// Typed reads of one object of a cage file, each error naming the file, the object and the key — and, for YAML, the
/// line: "cage.yml:7: output[1] (word_list): 'words' must be a list of strings".
struct ConfigObject {
  let fields: [String: JSONValue]
  /// The file, e.g. "cage.yml".
  let source: String
  /// The object's key path in the file ("" for the root, "output[1]", "output[1].rules").
  let path: String
  /// How the object is named in messages after the file, e.g. "output[1] (word_list)"; "" for the root.
  let label: String
  let lines: ConfigLines
  let format: CageFileFormat

  init(
    _ value: JSONValue, source: String, path: String = "", label: String? = nil, lines: ConfigLines = ConfigLines(),
    format: CageFileFormat = .json
  ) throws {
    self.source = source
    self.path = path
    self.label = label ?? path
    self.lines = lines
    self.format = format
    guard case .object(let o) = value else {
      let object = format == .json ? "a JSON object" : "a YAML mapping (key: value lines)"
      throw CageError("\(Self.locate(source, lines[path], self.label)) must be \(object)")
    }
    fields = o
  }

  /// Where the object is, with its line when the file gives one: "cage.yml:5: output[1] (word_list)".
  var what: String { Self.locate(source, lines[path], label) }

  /// `what`, at the line of `key`'s value when the file gives one (else the object's).
  func at(_ key: String) -> String { Self.locate(source, lines[ConfigLines.join(path, key)] ?? lines[path], label) }

  private static func locate(_ source: String, _ line: Int?, _ label: String) -> String {
    let file = line.map { "\(source):\($0)" } ?? source
    return label.isEmpty ? file : "\(file): \(label)"
  }

  /// The object under `key` (nil when absent), named "<label>: key" in messages.
  func object(_ key: String) throws -> ConfigObject? {
    guard let value = fields[key] else { return nil }
    return try ConfigObject(
      value, source: source, path: ConfigLines.join(path, key), label: label.isEmpty ? key : "\(label): \(key)",
      lines: lines, format: format)
  }

  /// The `index`-th item of the list under `key`, as an object named `label`.
  func item(_ value: JSONValue, of key: String, index: Int, label: String) throws -> ConfigObject {
    try ConfigObject(
      value, source: source, path: "\(ConfigLines.join(path, key))[\(index)]", label: label, lines: lines, format: format)
  }

  /// Throws for the first key not in `allowed`, listing the allowed ones.
  func checkKeys(_ allowed: [String]) throws {
    for key in fields.keys.sorted() where !allowed.contains(key) {
      throw CageError("\(at(key)): unknown key '\(key)'; allowed keys: \(allowed.joined(separator: ", "))")
    }
  }

  func wrongType(_ key: String, _ expected: String) -> CageError {
    CageError("\(at(key)): '\(key)' must be \(expected)")
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
        "\(at(key)): '\(key)' is '\(s)'; allowed values: \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return v
  }
}
