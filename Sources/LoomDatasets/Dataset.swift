import Foundation
import LoomTokenizers

/// A row: column name → value (what HF's `dataset[i]` returns).
public typealias Row = [String: Value]

/// A columnar, in-memory dataset as Hugging Face `datasets` users know it: named columns of
/// equal length, `map`/`filter`/`select`/`shuffle`/`train_test_split`, and class-label
/// features. Transforms return new datasets (value semantics).
public struct Dataset: Sendable, Equatable {
  /// Column names in order.
  public private(set) var columnNames: [String]
  public private(set) var columns: [String: [Value]]
  /// Class-label features by column (HF's `features[col]` when it is a `ClassLabel`).
  public var features: [String: ClassLabel] = [:]
  var cacheFilePath: String? = nil

  public static func == (a: Dataset, b: Dataset) -> Bool {
    a.columnNames == b.columnNames && a.columns == b.columns && a.features == b.features
  }

  /// A dataset from named columns (every column the same length).
  public init(columns: [(String, [Value])]) throws {
    columnNames = []
    self.columns = [:]
    for (name, values) in columns {
      guard self.columns[name] == nil else { throw DatasetError("duplicate column '\(name)'") }
      if let n = self.columns.values.first?.count, n != values.count {
        throw DatasetError(
          "column '\(name)' has \(values.count) rows, '\(columnNames[0])' has \(n)")
      }
      columnNames.append(name)
      self.columns[name] = values
    }
  }

  /// A dataset from rows; columns in `columnNames` order (default: the first row's keys, sorted).
  public init(rows: [Row], columnNames: [String]? = nil) throws {
    let names = columnNames ?? rows.first.map { $0.keys.sorted() } ?? []
    var cols = names.map { _ in [Value]() }
    for (i, r) in rows.enumerated() {
      guard r.count == names.count else {
        throw DatasetError("row \(i) has columns \(r.keys.sorted()), expected \(names)")
      }
      for (j, n) in names.enumerated() {
        guard let v = r[n] else { throw DatasetError("row \(i) has no column '\(n)'") }
        cols[j].append(v)
      }
    }
    try self.init(columns: Array(zip(names, cols)))
  }

  public var count: Int { columnNames.first.flatMap { columns[$0]?.count } ?? 0 }
  /// HF's `num_rows`.
  public var numRows: Int { count }

  /// Row `i` (HF's `dataset[i]`).
  public subscript(_ i: Int) -> Row {
    var r = Row(minimumCapacity: columnNames.count)
    for n in columnNames { r[n] = columns[n]![i] }
    return r
  }

  public var rows: [Row] { (0..<count).map { self[$0] } }

  /// A column's values (HF's `dataset["text"]`); throws naming the columns there are.
  public func column(_ name: String) throws -> [Value] {
    guard let c = columns[name] else {
      throw DatasetError(
        "no column '\(name)' (columns: \(columnNames.joined(separator: ", ")))")
    }
    return c
  }

  /// A column as strings (ints and doubles are written out; null is an error).
  public func strings(_ name: String) throws -> [String] {
    try column(name).enumerated().map { i, v in
      switch v {
      case .string(let s): return s
      case .int(let x): return String(x)
      case .double(let x): return String(x)
      case .bool(let b): return String(b)
      default: throw DatasetError("column '\(name)' row \(i): expected text, found \(v)")
      }
    }
  }

  /// A column as integers (e.g. labels).
  public func ints(_ name: String) throws -> [Int] {
    try column(name).enumerated().map { i, v in
      guard let x = v.int else {
        throw DatasetError("column '\(name)' row \(i): expected an integer, found \(v)")
      }
      return x
    }
  }

  /// A column of int sequences (e.g. `input_ids`).
  public func intSequences(_ name: String) throws -> [[Int]] {
    try column(name).enumerated().map { i, v in
      guard let x = v.ints else {
        throw DatasetError("column '\(name)' row \(i): expected a list of integers, found \(v)")
      }
      return x
    }
  }

  /// Features for a data collator: each row's int columns (`names`, default every column
  /// that holds ints or int lists) as int arrays; scalar ints become one-element arrays.
  public func intFeatures(_ names: [String]? = nil) throws -> [[String: [Int]]] {
    let use =
      names
      ?? columnNames.filter { n in columns[n]!.first.map { $0.int != nil || $0.ints != nil } ?? false }
    let cols = try use.map { n -> [[Int]] in
      try column(n).enumerated().map { i, v in
        if let x = v.int { return [x] }
        guard let a = v.ints else {
          throw DatasetError("column '\(n)' row \(i): expected integers, found \(v)")
        }
        return a
      }
    }
    return (0..<count).map { i in
      var f = [String: [Int]](minimumCapacity: use.count)
      for (j, n) in use.enumerated() { f[n] = cols[j][i] }
      return f
    }
  }

  // MARK: column edits

  /// Adds (or replaces) a column.
  public func addingColumn(_ name: String, _ values: [Value]) throws -> Dataset {
    guard values.count == count || columnNames.isEmpty else {
      throw DatasetError("new column '\(name)' has \(values.count) rows, the dataset \(count)")
    }
    var d = self
    if d.columns[name] == nil { d.columnNames.append(name) }
    d.columns[name] = values
    return d
  }

  /// HF's `remove_columns`.
  public func removingColumns(_ names: [String]) throws -> Dataset {
    for n in names { _ = try column(n) }
    var d = self
    d.columnNames.removeAll { names.contains($0) }
    for n in names {
      d.columns[n] = nil
      d.features[n] = nil
    }
    return d
  }

  /// HF's `rename_column`.
  public func renamingColumn(_ old: String, to new: String) throws -> Dataset {
    let c = try column(old)
    guard columns[new] == nil else { throw DatasetError("column '\(new)' already exists") }
    var d = self
    d.columnNames[d.columnNames.firstIndex(of: old)!] = new
    d.columns[old] = nil
    d.columns[new] = c
    if let f = d.features.removeValue(forKey: old) { d.features[new] = f }
    return d
  }

  // MARK: row selection

  /// HF's `select`: the rows at `indices`, in that order.
  public func select(_ indices: [Int]) throws -> Dataset {
    let n = count
    if let bad = indices.first(where: { $0 < 0 || $0 >= n }) {
      throw DatasetError("select: index \(bad) is out of range for \(n) rows")
    }
    var d = self
    for name in columnNames {
      let c = columns[name]!
      d.columns[name] = indices.map { c[$0] }
    }
    return d
  }

  /// HF's `filter`: the rows for which `predicate` is true.
  public func filter(_ predicate: (Row) throws -> Bool) rethrows -> Dataset {
    var keep = [Int]()
    for i in 0..<count where try predicate(self[i]) { keep.append(i) }
    return try! select(keep)
  }

  /// HF's `shuffle(seed=)`: a seeded permutation (Fisher–Yates on SplitMix64).
  public func shuffle(seed: UInt64) -> Dataset {
    try! select(Self.permutation(count, seed: seed))
  }

  /// HF's `train_test_split(test_size=, seed=)`: `testSize` is a fraction in (0, 1) or,
  /// when ≥ 1, a row count; the test rows are the first `ceil(testSize·n)` of a seeded
  /// shuffle (HF rounds the test size up, the train size down).
  public func trainTestSplit(testSize: Double, seed: UInt64 = 42, shuffle: Bool = true) throws
    -> (train: Dataset, test: Dataset)
  {
    let n = count
    let nTest: Int
    if testSize > 0 && testSize < 1 {
      nTest = Int((testSize * Double(n)).rounded(.up))
    } else if testSize >= 1 && testSize == testSize.rounded() {
      nTest = Int(testSize)
    } else {
      throw DatasetError(
        "train_test_split: test_size must be a fraction in (0, 1) or a row count, got \(testSize)")
    }
    guard nTest < n, nTest > 0 else {
      throw DatasetError(
        "train_test_split: test_size \(testSize) leaves \(n - nTest) training rows of \(n); use a smaller test_size or more data"
      )
    }
    let perm = shuffle ? Self.permutation(n, seed: seed) : Array(0..<n)
    return (try select(Array(perm[nTest...])), try select(Array(perm[..<nTest])))
  }

  /// HF's `concatenate_datasets`: the same columns, rows of `other` after these.
  public func concatenating(_ other: Dataset) throws -> Dataset {
    guard Set(columnNames) == Set(other.columnNames) else {
      throw DatasetError(
        "concatenate: columns differ (\(columnNames) vs \(other.columnNames))")
    }
    var d = self
    for n in columnNames { d.columns[n]! += other.columns[n]! }
    return d
  }

  static func permutation(_ n: Int, seed: UInt64) -> [Int] {
    var rng = SplitMix64(seed: seed)
    var p = Array(0..<n)
    if n > 1 {
      for i in stride(from: n - 1, to: 0, by: -1) {
        p.swapAt(i, Int(rng.next() % UInt64(i + 1)))
      }
    }
    return p
  }
}
