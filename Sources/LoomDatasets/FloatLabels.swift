import Foundation

/// Float label columns: regression targets and multi-label 0/1 vectors, read as HF's
/// run_classification reads them (a float column → regression, a list column →
/// multi-label classification).
extension Dataset {
  /// A column of numbers as doubles (regression targets). Numeric text ("2.5") is read as a
  /// number; anything else is an error naming the row.
  public func doubles(_ name: String) throws -> [Double] {
    try column(name).enumerated().map { i, v in
      if let d = v.double { return d }
      if let s = v.string, let d = Double(s.trimmingCharacters(in: .whitespaces)), d.isFinite {
        return d
      }
      throw DatasetError(
        "column '\(name)' row \(i): expected a number, found \(v); regression needs numeric labels")
    }
  }

  /// True when every value is a number and at least one has a fraction: HF datasets types
  /// such a column float64, and run_classification then does regression.
  public func isFloatColumn(_ name: String) throws -> Bool {
    let c = try column(name)
    return c.allSatisfy { $0.double != nil }
      && c.contains { if case .double = $0 { return true } else { return false } }
  }

  /// True when some value is a list (a JSON-lines `["a", "b"]` cell): HF's multi-label sign.
  public func isListColumn(_ name: String) throws -> Bool {
    try column(name).contains { $0.list != nil }
  }

  /// Each row's labels for multi-label classification: list cells as they are, text cells
  /// split at `separator` (e.g. "sports;politics" with ";"), or a text cell holding a JSON
  /// list (`["sports", "politics"]`, as a CSV can carry one). Labels are trimmed and empty
  /// ones dropped, so an empty cell means no label.
  public func labelLists(_ name: String, separator: String? = nil) throws -> [[String]] {
    try column(name).enumerated().map { i, v in
      func text(_ x: Value) throws -> String {
        switch x {
        case .string(let s): return s
        case .int(let n): return String(n)
        case .bool(let b): return String(b)
        default:
          throw DatasetError(
            "column '\(name)' row \(i): a label must be text or an integer, found \(x)")
        }
      }
      var items: [String]
      if let l = v.list {
        items = try l.map(text)
      } else if case .null = v {
        items = []
      } else {
        let s = try text(v).trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("["), s.hasSuffix("]"),
          let a = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [Any]
        {
          items = try a.map { try text(Value(json: $0)) }
        } else if let separator, !separator.isEmpty {
          items = s.components(separatedBy: separator)
        } else {
          items = [s]
        }
      }
      return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
  }
}

extension ClassLabel {
  /// HF's `multi_labels_to_ids`: a 0/1 float vector over the names (BCE needs float
  /// targets); an unknown label is an error naming it.
  public func multiHot(_ labels: [String]) throws -> [Float] {
    var v = [Float](repeating: 0, count: numClasses)
    for l in labels { v[try str2int(l)] = 1 }
    return v
  }
}
