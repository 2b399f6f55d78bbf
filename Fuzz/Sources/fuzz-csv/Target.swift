import FuzzSupport
import LoomDatasets

/// A CSV file through Dataset.load (as `loom train classify --data X.csv` reads it), then every
/// column as text; the same bytes as a .tsv.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  for name in ["data.csv", "data.tsv"] {
    let path = Scratch.write(name, bytes)
    do {
      let d = try Dataset.load([path])
      for c in d.columnNames { _ = try? d.strings(c) }
      _ = d.rows
    } catch { Scratch.check(error) }
  }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
