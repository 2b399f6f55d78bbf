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
    case .double(let d): out += ryuFormat(d)
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

/// A finite double as serde_json writes it (ryu): shortest round-trip digits, plain decimal
/// for 1e-5 ≤ |x| < 1e16 ("0.00001", "12.0"), else "1e-6" / "1.5e16" style.
func ryuFormat(_ d: Double) -> String {
  guard d.isFinite else { return "null" }
  if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
  var s = String(d.magnitude)  // Swift's shortest digits: "12.34", "1e-05", "1.5e+16"
  var exp = 0
  if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
    exp = Int(s[s.index(after: e)...]) ?? 0
    s = String(s[..<e])
  }
  let parts = s.split(separator: ".", omittingEmptySubsequences: false)
  let whole = String(parts[0])
  let frac = parts.count > 1 ? String(parts[1]) : ""
  var digits = whole + frac
  var kk = whole.count + exp  // value = 0.digits × 10^kk
  while digits.first == "0" {
    digits.removeFirst()
    kk -= 1
  }
  while digits.last == "0" { digits.removeLast() }
  let n = digits.count
  let sign = d.sign == .minus ? "-" : ""
  let k = kk - n
  if k >= 0 && kk <= 16 { return sign + digits + String(repeating: "0", count: k) + ".0" }
  if kk > 0 && kk <= 16 {
    return sign + digits.prefix(kk) + "." + digits.dropFirst(kk)
  }
  if kk > -5 && kk <= 0 { return sign + "0." + String(repeating: "0", count: -kk) + digits }
  let e = "e" + String(kk - 1)
  if n == 1 { return sign + digits + e }
  return sign + digits.prefix(1) + "." + digits.dropFirst() + e
}
