import Foundation

/// JSONSerialization writes a float that has no fraction as an integer (`1.0` → `1`); HF's
/// files keep float fields as floats, and some readers check the type.
enum JSONFloats {
  /// `"key" : 0` → `"key" : 0.0` for `keys`.
  static func writing(_ keys: [String], in data: Data) -> Data {
    guard !keys.isEmpty, var text = String(data: data, encoding: .utf8) else { return data }
    for key in keys {
      let pattern = "(\"\(NSRegularExpression.escapedPattern(for: key))\" ?: ?-?[0-9]+)(?=[,\\n }])"
      guard let re = try? NSRegularExpression(pattern: pattern) else { continue }
      text = re.stringByReplacingMatches(
        in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1.0")
    }
    return Data(text.utf8)
  }

  /// The top-level keys of `object` whose values were read as floating-point numbers (a number
  /// with a fraction; `1.0` reads as an integer).
  static func floatKeys(of object: [String: Any]) -> [String] {
    object.compactMap { key, value in
      guard let number = value as? NSNumber, !(value is Bool) else { return nil }
      let type = String(cString: number.objCType)
      return type == "d" || type == "f" ? key : nil
    }.sorted()
  }
}
