import Foundation

/// Where a `map` caches its result (HF's cache files): `directory/<fingerprint>.loomds`,
/// the fingerprint hashing the input dataset's contents and `functionID` — a string that
/// must change whenever the function's behaviour does (name + every option it reads).
public struct MapCache: Sendable {
  public var directory: String
  public var functionID: String
  public init(directory: String, functionID: String) {
    self.directory = directory
    self.functionID = functionID
  }
}

extension Dataset {
  /// HF's `map` over single rows: the returned row updates the example (new keys become
  /// columns, existing ones are replaced); then `removeColumns` are dropped.
  public func map(removeColumns: [String] = [], _ transform: (Row) throws -> Row) throws -> Dataset {
    var out = [Row]()
    out.reserveCapacity(count)
    for i in 0..<count {
      var r = self[i]
      for (k, v) in try transform(r) { r[k] = v }
      for k in removeColumns { r[k] = nil }
      out.append(r)
    }
    var names = columnNames.filter { !removeColumns.contains($0) }
    for k in out.first?.keys.sorted() ?? [] where !names.contains(k) { names.append(k) }
    var d = try Dataset(rows: out, columnNames: names)
    d.features = features.filter { names.contains($0.key) }
    return d
  }

  /// HF's `map(batched=True)`: `transform` gets `batchSize` rows as columns and returns
  /// columns, which may have a different row count (e.g. one example → many QA features)
  /// when every input column is removed or replaced. `numProc` > 1 runs batches in
  /// parallel (the closure must be thread-safe); with `cache`, a finished result is
  /// written to disk and later calls on the same input and function load it instead.
  public func map(
    batchSize: Int = 1000, numProc: Int = 1, removeColumns: [String] = [], cache: MapCache? = nil,
    _ transform: @Sendable ([String: [Value]]) throws -> [String: [Value]]
  ) throws -> Dataset {
    for n in removeColumns { _ = try column(n) }
    var cachePath: String?
    if let cache {
      let path = cache.directory + "/" + fingerprint(cache.functionID, removeColumns) + ".loomds"
      if let d = try? Dataset.readCache(path) { return d.withCacheFile(path) }
      cachePath = path
    }
    let n = count
    let bs = max(batchSize, 1)
    let nb = (n + bs - 1) / bs
    var results = [Result<[String: [Value]], Error>?](repeating: nil, count: nb)
    let me = self
    func run(_ b: Int) -> Result<[String: [Value]], Error> {
      let lo = b * bs
      let hi = min(lo + bs, n)
      var batch = [String: [Value]]()
      for c in me.columnNames { batch[c] = Array(me.columns[c]![lo..<hi]) }
      return Result { try transform(batch) }
    }
    if numProc > 1 && nb > 1 {
      results.withUnsafeMutableBufferPointer { rb in
        let rbp = rb
        DispatchQueue.concurrentPerform(iterations: nb) { rbp[$0] = run($0) }
      }
    } else {
      for b in 0..<nb { results[b] = run(b) }
    }
    // Stitch the batches: kept input columns, then new ones in the first batch's order.
    var newNames = [String]()
    var newCols = [String: [Value]]()
    for (b, r) in results.enumerated() {
      let out = try r!.get()
      let lo = b * bs
      let hi = min(lo + bs, n)
      let rowsOut = out.values.first?.count ?? (hi - lo)
      if let bad = out.first(where: { $0.value.count != rowsOut }) {
        throw DatasetError(
          "map: the function returned columns of different lengths ('\(bad.key)' has \(bad.value.count), expected \(rowsOut))"
        )
      }
      let kept = columnNames.filter { !removeColumns.contains($0) && out[$0] == nil }
      if rowsOut != hi - lo && !kept.isEmpty {
        throw DatasetError(
          "map: the function turned \(hi - lo) rows into \(rowsOut), so the input columns \(kept) cannot be kept; pass them in removeColumns"
        )
      }
      if b == 0 {
        newNames = kept + out.keys.filter { !kept.contains($0) }.sorted()
        for k in kept { newCols[k] = [] }
        for k in out.keys { newCols[k] = [] }
      }
      for k in kept { newCols[k]! += columns[k]![lo..<hi] }
      for (k, v) in out {
        guard newCols[k] != nil else {
          throw DatasetError("map: batch \(b) returned a column '\(k)' that batch 0 did not")
        }
        newCols[k]! += v
      }
    }
    var d = try Dataset(columns: newNames.map { ($0, newCols[$0] ?? []) })
    d.features = features.filter { newNames.contains($0.key) && newCols[$0.key] == columns[$0.key] }
    if let cachePath {
      try d.writeCache(cachePath)
      d = d.withCacheFile(cachePath)
    }
    return d
  }

  /// The fingerprint of this dataset's contents plus a function identity (FNV-1a 64).
  public func fingerprint(_ functionID: String, _ extra: [String] = []) -> String {
    var h = Fingerprint()
    h.mix(functionID)
    for e in extra { h.mix(e) }
    for n in columnNames {
      h.mix(n)
      for v in columns[n]! { h.mix(v) }
    }
    return h.hex
  }
}

struct Fingerprint {
  var h: UInt64 = 0xCBF2_9CE4_8422_2325
  mutating func byte(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
  mutating func mix(_ s: String) {
    for b in s.utf8 { byte(b) }
    byte(0xFF)
  }
  mutating func mix(_ i: Int) {
    var x = UInt64(bitPattern: Int64(i))
    for _ in 0..<8 {
      byte(UInt8(x & 0xFF))
      x >>= 8
    }
  }
  mutating func mix(_ v: Value) {
    switch v {
    case .null: byte(0)
    case .bool(let b): byte(1); byte(b ? 1 : 0)
    case .int(let i): byte(2); mix(i)
    case .double(let d): byte(3); mix(Int(bitPattern: UInt(d.bitPattern)))
    case .string(let s): byte(4); mix(s)
    case .ints(let a): byte(5); mix(a.count); for x in a { mix(x) }
    case .list(let l): byte(6); mix(l.count); for x in l { mix(x) }
    case .dict(let d):
      byte(7); mix(d.count)
      for k in d.keys.sorted() { mix(k); mix(d[k]!) }
    }
  }
  var hex: String { String(format: "%016llx", h) }
}
