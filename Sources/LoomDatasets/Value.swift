import Foundation

/// One cell of a `Dataset`: the JSON-like values HF datasets' Arrow columns hold.
/// Token columns use `.ints` (a flat array) rather than a list of `.int`s.
public indirect enum Value: Sendable, Hashable, CustomStringConvertible {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case ints([Int])
  case list([Value])
  case dict([String: Value])

  public var string: String? { if case .string(let s) = self { return s } else { return nil } }
  public var int: Int? {
    switch self {
    case .int(let i): return i
    case .bool(let b): return b ? 1 : 0
    default: return nil
    }
  }
  public var double: Double? {
    switch self {
    case .double(let d): return d
    case .int(let i): return Double(i)
    default: return nil
    }
  }
  /// `.ints`, or a list whose items are all ints.
  public var ints: [Int]? {
    switch self {
    case .ints(let a): return a
    case .list(let l):
      var out = [Int]()
      for v in l { guard let i = v.int else { return nil }; out.append(i) }
      return out
    default: return nil
    }
  }
  public var list: [Value]? {
    switch self {
    case .list(let l): return l
    case .ints(let a): return a.map { .int($0) }
    default: return nil
    }
  }
  public var dict: [String: Value]? { if case .dict(let d) = self { return d } else { return nil } }
  public subscript(key: String) -> Value? { dict?[key] }

  public var description: String {
    switch self {
    case .null: return "null"
    case .bool(let b): return "\(b)"
    case .int(let i): return "\(i)"
    case .double(let d): return "\(d)"
    case .string(let s): return s.debugDescription
    case .ints(let a): return "\(a)"
    case .list(let l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
    case .dict(let d):
      return "{" + d.keys.sorted().map { "\($0.debugDescription): \(d[$0]!)" }.joined(separator: ", ")
        + "}"
    }
  }

  /// From `JSONSerialization` output (numbers without a fraction become ints).
  public init(json: Any) {
    switch json {
    case is NSNull: self = .null
    case let s as String: self = .string(s)
    case let n as NSNumber:
      // objCType: "c"/"B" for JSON booleans, "d"/"f" for numbers with a fraction.
      let t = String(cString: n.objCType)
      if t == "c" || t == "B" {
        self = .bool(n.boolValue)
      } else if t == "d" || t == "f" {
        self = .double(n.doubleValue)
      } else {
        self = .int(n.intValue)
      }
    case let a as [Any]: self = .list(a.map { Value(json: $0) })
    case let d as [String: Any]: self = .dict(d.mapValues { Value(json: $0) })
    default: self = .string("\(json)")
    }
  }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
  ExpressibleByBooleanLiteral
{
  public init(stringLiteral s: String) { self = .string(s) }
  public init(integerLiteral i: Int) { self = .int(i) }
  public init(floatLiteral d: Double) { self = .double(d) }
  public init(booleanLiteral b: Bool) { self = .bool(b) }
}

/// A dataset error: what went wrong, where (file and line when there is one), how to fix it.
public struct DatasetError: Error, CustomStringConvertible, LocalizedError, Equatable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
  public var errorDescription: String? { message }
}
