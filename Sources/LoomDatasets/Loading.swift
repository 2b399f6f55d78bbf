import Foundation

extension Dataset {
  /// HF's `load_dataset(format, data_files=…)` for local files: `.txt` (text), `.csv`,
  /// `.tsv`, `.jsonl` / `.json` (JSON lines). Files of one format are concatenated.
  public static func load(_ paths: [String]) throws -> Dataset {
    guard let first = paths.first else { throw DatasetError("load: no files given") }
    let kind = URL(fileURLWithPath: first).pathExtension.lowercased()
    var out: Dataset?
    for p in paths {
      let k = URL(fileURLWithPath: p).pathExtension.lowercased()
      guard k == kind else {
        throw DatasetError("load: \(p) is .\(k) but \(first) is .\(kind); load one format at a time")
      }
      let d: Dataset
      switch k {
      case "txt", "text", "": d = try loadText(p)
      case "csv": d = try loadCSV(p)
      case "tsv": d = try loadCSV(p, delimiter: "\t")
      case "jsonl", "json": d = try loadJSONLines(p)
      default:
        throw DatasetError(
          "load: \(p): unknown format .\(k) (use .txt, .csv, .tsv or .jsonl)")
      }
      out = try out.map { try $0.concatenating(d) } ?? d
    }
    return out!
  }

  /// HF's `text` loader: one row per line in column `text` (line ends stripped; empty lines
  /// are kept as HF does unless `skipEmpty`).
  public static func loadText(_ path: String, skipEmpty: Bool = false) throws -> Dataset {
    let s = try readUTF8(path)
    // "\r\n" is one Character in Swift: split on both.
    var lines = s.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
      .map(String.init)
    if lines.last == "" { lines.removeLast() }
    if skipEmpty { lines.removeAll { $0.isEmpty } }
    return try Dataset(columns: [("text", lines.map { .string($0) })])
  }

  /// CSV (RFC 4180: quoted fields, "" escapes, newlines inside quotes) with a header row.
  /// Ragged rows are errors naming file and line; `requiredColumns` missing from the header
  /// too. Fields that are integers become `.int`, other numbers `.double`, the rest text
  /// (unless `inferTypes` is false).
  public static func loadCSV(
    _ path: String, delimiter: Character = ",", requiredColumns: [String] = [],
    inferTypes: Bool = true
  ) throws -> Dataset {
    let records = try CSVReader.parse(readUTF8(path), delimiter: delimiter, file: path)
    guard let (_, header) = records.first else {
      throw DatasetError("\(path): empty file; a CSV needs a header row")
    }
    if let dup = Dictionary(grouping: header, by: { $0 }).first(where: { $0.value.count > 1 }) {
      throw DatasetError("\(path):1: duplicate column '\(dup.key)' in the header")
    }
    let missing = requiredColumns.filter { !header.contains($0) }
    guard missing.isEmpty else {
      throw DatasetError(
        "\(path):1: missing column\(missing.count > 1 ? "s" : "") \(missing.map { "'\($0)'" }.joined(separator: ", ")); the header has \(header.joined(separator: ", "))"
      )
    }
    var cols = header.map { _ in [Value]() }
    for (line, fields) in records.dropFirst() {
      guard fields.count == header.count else {
        throw DatasetError(
          "\(path):\(line): \(fields.count) fields, the header has \(header.count) (\(header.joined(separator: ", "))); quote fields that contain '\(delimiter)'"
        )
      }
      for (j, f) in fields.enumerated() { cols[j].append(inferTypes ? infer(f) : .string(f)) }
    }
    // A column is numeric only if every row is; otherwise keep all of it as text.
    for j in cols.indices where cols[j].contains(where: { $0.string != nil }) {
      cols[j] = cols[j].map { v in v.string.map { .string($0) } ?? .string(textOf(v)) }
    }
    // …and a numeric column with any fraction is all doubles.
    for j in cols.indices where cols[j].contains(where: { if case .double = $0 { return true } else { return false } }) {
      cols[j] = cols[j].map { v in v.double.map { .double($0) } ?? v }
    }
    return try Dataset(columns: Array(zip(header, cols)))
  }

  /// JSON lines: one object per line; columns are the union of keys in first-seen order
  /// (a key a row lacks is null, as HF does).
  public static func loadJSONLines(_ path: String) throws -> Dataset {
    let s = try readUTF8(path)
    var names = [String]()
    var rows = [[String: Value]]()
    for (i, line) in s.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
      .enumerated() {
      let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if t.isEmpty { continue }
      let obj: Any
      do {
        obj = try JSONSerialization.jsonObject(with: Data(t.utf8), options: [.fragmentsAllowed])
      } catch {
        throw DatasetError("\(path):\(i + 1): not valid JSON (\(error.localizedDescription))")
      }
      guard let d = obj as? [String: Any] else {
        throw DatasetError("\(path):\(i + 1): expected a JSON object per line")
      }
      // JSONSerialization loses key order; sort new keys for a stable column order.
      for k in d.keys.sorted() where !names.contains(k) { names.append(k) }
      rows.append(d.mapValues { Value(json: $0) })
    }
    let cols = names.map { n in rows.map { $0[n] ?? .null } }
    return try Dataset(columns: Array(zip(names, cols)))
  }

  static func readUTF8(_ path: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw DatasetError("no such file: \(path)")
    }
    guard !isDirectory.boolValue else { throw DatasetError("\(path) is a directory, not a data file") }
    // FileHandle: Data(contentsOf:) leaks 4 KB per empty file (swift-foundation), and its
    // errors are NSCocoaErrorDomain text.
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw DatasetError("cannot read \(path): permission denied")
    }
    defer { try? handle.close() }
    let data: Data
    do { data = try handle.readToEnd() ?? Data() } catch {
      throw DatasetError("cannot read \(path): \(error.localizedDescription)")
    }
    guard let s = String(data: data, encoding: .utf8) else {
      throw DatasetError("\(path): not UTF-8 text")
    }
    return s.hasPrefix("\u{FEFF}") ? String(s.dropFirst()) : s
  }

  static func infer(_ f: String) -> Value {
    if let i = Int(f) { return .int(i) }
    if let d = Double(f), !f.isEmpty, f.first!.isNumber || f.first == "-" || f.first == "." {
      return .double(d)
    }
    return .string(f)
  }

  static func textOf(_ v: Value) -> String {
    switch v {
    case .int(let i): return String(i)
    case .double(let d): return String(d)
    default: return v.description
    }
  }
}

/// RFC 4180 records with the (1-based) line each starts on.
enum CSVReader {
  static func parse(_ text: String, delimiter: Character, file: String) throws -> [(Int, [String])] {
    var records = [(Int, [String])]()
    var fields = [String]()
    var field = ""
    var inQuotes = false
    var afterQuote = false
    var line = 1
    var recordLine = 1
    var chars = text.makeIterator()
    var pending: Character? = nil
    func endRecord() {
      fields.append(field)
      field = ""
      // A blank line is no record.
      if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
      fields = []
    }
    while let c = pending ?? chars.next() {
      pending = nil
      if inQuotes {
        if c == "\"" {
          if let n = chars.next() {
            if n == "\"" { field.append("\"") } else {
              inQuotes = false
              afterQuote = true
              pending = n
            }
          } else {
            inQuotes = false
            afterQuote = true
          }
        } else {
          if c == "\n" || c == "\r\n" { line += 1 }
          field.append(c)
        }
        continue
      }
      switch c {
      case "\"":
        guard field.isEmpty && !afterQuote else {
          throw DatasetError(
            "\(file):\(line): a quote inside an unquoted field; wrap the field in quotes and double inner quotes (\"\")"
          )
        }
        inQuotes = true
      case delimiter:
        fields.append(field)
        field = ""
        afterQuote = false
      case "\n", "\r\n", "\r":
        endRecord()
        afterQuote = false
        line += 1
        recordLine = line
      default:
        guard !afterQuote else {
          throw DatasetError("\(file):\(line): text after a closing quote; double quotes inside quoted fields (\"\")")
        }
        field.append(c)
      }
    }
    if inQuotes {
      throw DatasetError("\(file):\(recordLine): a quoted field is never closed")
    }
    if !field.isEmpty || !fields.isEmpty { endRecord() }
    return records
  }
}
