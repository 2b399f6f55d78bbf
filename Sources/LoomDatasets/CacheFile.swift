import Foundation

/// A binary snapshot of a dataset (`.loomds`): magic, column names, ClassLabel features and
/// tagged values, written atomically so an interrupted run leaves no half file.
extension Dataset {
  static let magic: [UInt8] = Array("LOOMDS1\n".utf8)

  /// The cache file this dataset was loaded from or written to (HF's `cache_files`).
  public var cacheFile: String? { cacheFilePath }

  func withCacheFile(_ p: String) -> Dataset {
    var d = self
    d.cacheFilePath = p
    return d
  }

  /// Writes the dataset to `path` (creating directories).
  public func writeCache(_ path: String) throws {
    var w = ByteWriter()
    w.bytes(Self.magic)
    w.int(columnNames.count)
    for n in columnNames {
      w.string(n)
      if let f = features[n] {
        w.int(f.names.count)
        for s in f.names { w.string(s) }
      } else {
        w.int(-1)
      }
      let c = columns[n]!
      w.int(c.count)
      for v in c { w.value(v) }
    }
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let tmp = path + ".tmp\(ProcessInfo.processInfo.processIdentifier)"
    try Data(w.out).write(to: URL(fileURLWithPath: tmp))
    _ = try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.moveItem(atPath: tmp, toPath: path)
  }

  /// Reads a dataset written by `writeCache`; a damaged file is an error naming it.
  public static func readCache(_ path: String) throws -> Dataset {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    var r = ByteReader(data: [UInt8](data), file: path)
    guard try r.bytes(magic.count) == magic else {
      throw DatasetError("\(path): not a Loom dataset cache file")
    }
    var cols = [(String, [Value])]()
    var feats = [String: ClassLabel]()
    for _ in 0..<(try r.count()) {
      let n = try r.string()
      let k = try r.int()
      if k >= 0 { feats[n] = try ClassLabel(names: (0..<k).map { _ in try r.string() }) }
      cols.append((n, try (0..<(try r.count())).map { _ in try r.value() }))
    }
    var d = try Dataset(columns: cols)
    d.features = feats
    return d
  }
}

struct ByteWriter {
  var out = [UInt8]()
  mutating func bytes(_ b: [UInt8]) { out += b }
  mutating func int(_ i: Int) {
    withUnsafeBytes(of: Int64(i).littleEndian) { out += $0 }
  }
  mutating func string(_ s: String) {
    int(s.utf8.count)
    out += s.utf8
  }
  mutating func value(_ v: Value) {
    switch v {
    case .null: out.append(0)
    case .bool(let b): out += [1, b ? 1 : 0]
    case .int(let i): out.append(2); int(i)
    case .double(let d): out.append(3); int(Int(Int64(bitPattern: d.bitPattern)))
    case .string(let s): out.append(4); string(s)
    case .ints(let a):
      out.append(5); int(a.count)
      for x in a { int(x) }
    case .list(let l):
      out.append(6); int(l.count)
      for x in l { value(x) }
    case .dict(let d):
      out.append(7); int(d.count)
      for k in d.keys.sorted() { string(k); value(d[k]!) }
    }
  }
}

struct ByteReader {
  let data: [UInt8]
  let file: String
  var pos = 0
  init(data: [UInt8], file: String) {
    self.data = data
    self.file = file
  }
  mutating func bytes(_ n: Int) throws -> [UInt8] {
    guard n >= 0, pos + n <= data.count else {
      throw DatasetError("\(file): truncated at byte \(pos); delete it to rebuild the cache")
    }
    defer { pos += n }
    return Array(data[pos..<(pos + n)])
  }
  mutating func int() throws -> Int {
    let b = try bytes(8)
    var x: UInt64 = 0
    for (i, v) in b.enumerated() { x |= UInt64(v) << (8 * UInt64(i)) }
    return Int(Int64(bitPattern: x))
  }
  mutating func count() throws -> Int {
    let n = try int()
    guard n >= 0, n <= data.count else {
      throw DatasetError("\(file): bad length \(n) at byte \(pos - 8); delete it to rebuild the cache")
    }
    return n
  }
  mutating func string() throws -> String {
    String(decoding: try bytes(try count()), as: UTF8.self)
  }
  mutating func value() throws -> Value {
    switch try bytes(1)[0] {
    case 0: return .null
    case 1: return .bool(try bytes(1)[0] != 0)
    case 2: return .int(try int())
    case 3: return .double(Double(bitPattern: UInt64(bitPattern: Int64(try int()))))
    case 4: return .string(try string())
    case 5:
      let n = try count()
      return .ints(try (0..<n).map { _ in try int() })
    case 6:
      let n = try count()
      return .list(try (0..<n).map { _ in try value() })
    case 7:
      var d = [String: Value]()
      for _ in 0..<(try count()) {
        let k = try string()
        d[k] = try value()
      }
      return .dict(d)
    case let t: throw DatasetError("\(file): unknown value tag \(t) at byte \(pos - 1)")
    }
  }
}
