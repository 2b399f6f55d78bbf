import Foundation
import LoomCore
import LoomDatasets

/// A CSV / JSON-lines file's text, optional pair text and label columns, checked.
struct LabelledText {
  var texts: [String]
  var pairs: [String]?
  /// The label column as read: text, numbers or (JSON lines) lists; `labelColumn` reads it.
  var labels: [Value]
  var labelName: String

  /// The labels as a one-column dataset, for the datasets layer's typed readers.
  var labelColumn: Dataset {
    get throws { try Dataset(columns: [(labelName, labels)]) }
  }

  /// The rows at `indices`.
  func select(_ indices: some Sequence<Int>) -> LabelledText {
    let idx = Array(indices)
    return LabelledText(
      texts: idx.map { texts[$0] }, pairs: pairs.map { p in idx.map { p[$0] } }, labels: idx.map { labels[$0] },
      labelName: labelName)
  }

  /// Reads `path` and takes the named columns; a missing column names the file, the
  /// columns it has and the flag to change.
  static func read(_ path: String, flag: String, textColumn: String, pairColumn: String?, labelColumn: String) throws -> LabelledText {
    let d: Dataset
    do { d = try Dataset.load([path]) } catch { throw LoomError("\(flag) \(path): \(error)") }
    let wanted = [("--text-column", textColumn), ("--text-pair-column", pairColumn), ("--label-column", labelColumn)]
    for case let (option, name?) in wanted where !d.columnNames.contains(name) {
      throw LoomError(
        "\(flag) \(path) has no column '\(name)' (columns: \(d.columnNames.joined(separator: ", "))); fix the file or pass \(option) NAME")
    }
    guard d.count > 0 else { throw LoomError("\(flag) \(path) has no rows") }
    do {
      return LabelledText(
        texts: try d.strings(textColumn), pairs: try pairColumn.map { try d.strings($0) },
        labels: try d.column(labelColumn), labelName: labelColumn)
    } catch { throw LoomError("\(flag) \(path): \(error)") }
  }

  /// The distinct labels in a stable order: numerically when all are integers, else sorted
  /// as text (HF's `class_encode_column`).
  static func labelNames(_ labels: [String]) -> [String] {
    let distinct = Array(Set(labels))
    if distinct.allSatisfy({ Int($0) != nil }) { return distinct.sorted { Int($0)! < Int($1)! } }
    return distinct.sorted()
  }

  /// Label ids through `names`; a label outside them is an error naming row and file.
  func labelIds(_ names: [String], source: String) throws -> [Int] {
    let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    let text: [String]
    do { text = try labelColumn.strings(labelName) } catch { throw LoomError("\(source): \(error)") }
    return try text.enumerated().map { i, l in
      guard let id = index[l] else {
        throw LoomError(
          "\(source) row \(i + 1): label '\(l)' is not one of the model's labels (\(names.joined(separator: ", "))); every label must occur in the training data (or the model's id2label)")
      }
      return id
    }
  }
}
