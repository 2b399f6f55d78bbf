import Foundation

/// A scan of raw JSON text for what `JSONSerialization` hides: repeated keys of the top-level
/// object (it silently keeps the last one).
enum JSONKeys {
  /// The first key that occurs twice in the top-level object, or nil. Assumes `bytes` is
  /// valid JSON (checked by the caller's parse).
  static func firstDuplicateTopLevelKey(_ bytes: UnsafeRawBufferPointer) -> String? {
    var seen = Set<String>()
    var depth = 0
    var expectKey = false
    var i = 0
    while i < bytes.count {
      let c = bytes[i]
      if c == UInt8(ascii: "\"") {
        let start = i
        i += 1
        while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
        if depth == 1 && expectKey {
          let raw = Data(bytes[start..<min(i + 1, bytes.count)])
          // Decode escapes so "a" and "\u0061" are the same key.
          let key = (try? JSONSerialization.jsonObject(with: raw, options: [.fragmentsAllowed])) as? String
            ?? String(decoding: raw, as: UTF8.self)
          if !seen.insert(key).inserted { return key }
          expectKey = false
        }
      } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
        depth += 1
        expectKey = depth == 1 && c == UInt8(ascii: "{")
      } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
        depth -= 1
      } else if c == UInt8(ascii: ",") && depth == 1 {
        expectKey = true
      }
      i += 1
    }
    return nil
  }
}
