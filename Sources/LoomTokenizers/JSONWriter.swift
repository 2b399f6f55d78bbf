import Foundation

/// An ordered JSON value, written the way serde_json's pretty printer writes it
/// (two-space indent), so saved tokenizer.json files match HF's byte for byte.
indirect enum JSONValue {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  func pretty(_ indent: String = "") -> String {
    var out = ""
    write(&out, indent)
    return out
  }

  private func write(_ out: inout String, _ indent: String) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .double(let d):
      out += d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
    case .string(let s): out += jsonString(s)
    case .array(let xs):
      if xs.isEmpty {
        out += "[]"
        return
      }
      let inner = indent + "  "
      out += "[\n"
      for (i, x) in xs.enumerated() {
        out += inner
        x.write(&out, inner)
        out += i + 1 < xs.count ? ",\n" : "\n"
      }
      out += indent + "]"
    case .object(let kv):
      if kv.isEmpty {
        out += "{}"
        return
      }
      let inner = indent + "  "
      out += "{\n"
      for (i, (k, v)) in kv.enumerated() {
        out += inner + jsonString(k) + ": "
        v.write(&out, inner)
        out += i + 1 < kv.count ? ",\n" : "\n"
      }
      out += indent + "}"
    }
  }
}

extension Optional where Wrapped == String {
  var json: JSONValue { map { .string($0) } ?? .null }
}
