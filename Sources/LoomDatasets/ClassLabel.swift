/// HF's `ClassLabel` feature: label names ↔ ids (id = position in `names`).
public struct ClassLabel: Sendable, Equatable {
  public let names: [String]
  private let ids: [String: Int]

  public init(names: [String]) throws {
    var ids = [String: Int]()
    for (i, n) in names.enumerated() {
      guard ids[n] == nil else { throw DatasetError("ClassLabel: duplicate label name '\(n)'") }
      ids[n] = i
    }
    self.names = names
    self.ids = ids
  }

  public var numClasses: Int { names.count }

  /// HF's `str2int`; an unknown name is an error naming the known ones.
  public func str2int(_ name: String) throws -> Int {
    guard let i = ids[name] else {
      throw DatasetError(
        "unseen label '\(name)': the labels are \(names.joined(separator: ", ")); add it to the label names or fix the data"
      )
    }
    return i
  }

  /// HF's `int2str`.
  public func int2str(_ id: Int) throws -> String {
    guard names.indices.contains(id) else {
      throw DatasetError("label id \(id) is out of range for \(names.count) classes")
    }
    return names[id]
  }

  /// `id2label` / `label2id` as a model config stores them.
  public var id2label: [Int: String] {
    Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0, $1) })
  }
  public var label2id: [String: Int] { ids }
}

extension Dataset {
  /// HF's `class_encode_column`: replaces a text (or int) label column with ids into the
  /// sorted distinct values, and records the `ClassLabel` in `features`.
  public func classEncodeColumn(_ name: String) throws -> Dataset {
    let values = try strings(name)
    let label = try ClassLabel(names: Set(values).sorted())
    return try encodeLabels(name, with: label)
  }

  /// Maps a label column through an existing `ClassLabel` (e.g. the training split's), so
  /// validation and test splits share its ids. A label the class list lacks is an error
  /// naming the row. Columns that already hold ids are checked against the range.
  public func encodeLabels(_ name: String, with label: ClassLabel) throws -> Dataset {
    let col = try column(name)
    let ids = try col.enumerated().map { i, v -> Value in
      do {
        if case .int(let x) = v {
          _ = try label.int2str(x)
          return .int(x)
        }
        guard let s = v.string else { throw DatasetError("expected a label, found \(v)") }
        return .int(try label.str2int(s))
      } catch let e as DatasetError {
        throw DatasetError("column '\(name)' row \(i): \(e.message)")
      }
    }
    var d = try addingColumn(name, ids)
    d.features[name] = label
    return d
  }
}
