import Foundation

/// A JSON value written as Python's `json.dumps(indent=2, sort_keys=True)` writes it, so an
/// adapter_config.json from Loom reads like one from PEFT's `save_pretrained`.
public indirect enum PeftJSON: Equatable, Sendable, Encodable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([PeftJSON])
  case object([String: PeftJSON])

  /// The text, keys sorted, two-space indent, `": "` and `", "` separators like Python's.
  public func text(_ indent: String = "") -> String {
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    // Swift's shortest round-trip form, as Python's repr (0.0, 0.1, 1e-05).
    case .double(let d):
      return d == d.rounded() && abs(d) < 1e16 ? String(format: "%.1f", d) : "\(d)"
    case .string(let s): return Self.quote(s)
    case .array(let xs):
      guard !xs.isEmpty else { return "[]" }
      let inner = indent + "  "
      return "[\n" + xs.map { inner + $0.text(inner) }.joined(separator: ",\n") + "\n\(indent)]"
    case .object(let kv):
      guard !kv.isEmpty else { return "{}" }
      let inner = indent + "  "
      let lines = kv.keys.sorted().map { inner + Self.quote($0) + ": " + kv[$0]!.text(inner) }
      return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .int(let i): try c.encode(i)
    case .double(let d): try c.encode(d)
    case .string(let s): try c.encode(s)
    case .array(let xs): try c.encode(xs)
    case .object(let kv): try c.encode(kv)
    }
  }

  /// Python's default `ensure_ascii=True` quoting.
  static func quote(_ s: String) -> String {
    var out = "\""
    for u in s.utf16 {
      switch u {
      case 0x22: out += "\\\""
      case 0x5C: out += "\\\\"
      case 0x0A: out += "\\n"
      case 0x0D: out += "\\r"
      case 0x09: out += "\\t"
      case 0x20..<0x7F: out += String(UnicodeScalar(UInt8(u)))
      default: out += String(format: "\\u%04x", u)
      }
    }
    return out + "\""
  }
}
