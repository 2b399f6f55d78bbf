import FuzzSupport
import LoomDatasets

/// A CSV file through Dataset.load (as `loom train classify --data X.csv` reads it), then every
/// column as text; the same bytes as a .tsv.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  Scratch.read(input, size, as: ["data.csv", "data.tsv"]) { path in
    let d = try Dataset.load([path])
    for c in d.columnNames { _ = try? d.strings(c) }
    _ = d.rows
  }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
