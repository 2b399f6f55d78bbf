import FuzzSupport
import LoomDatasets

/// A JSON-lines file through Dataset.load (as `loom train classify|token-classify --data
/// X.jsonl` reads it), then every column as text and as lists (token-classify's words and tags).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  Scratch.read(input, size, as: ["data.jsonl"]) { path in
    let d = try Dataset.load([path])
    for c in d.columnNames {
      _ = try? d.strings(c)
      for v in try d.column(c) { _ = v.list?.map { $0.string ?? $0.int.map(String.init) ?? v.description } }
    }
  }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
