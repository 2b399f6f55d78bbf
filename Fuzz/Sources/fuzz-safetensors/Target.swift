import FuzzSupport
import LoomCore
import LoomIO

/// SafeTensorsFile: header validation, then every tensor read and converted.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let path = Scratch.write("model.safetensors", UnsafeRawBufferPointer(start: data, count: size))
  do {
    let file = try SafeTensorsFile(path: path)
    for e in file.entries {
      _ = try file.withRawBytes(e.name) { $0.reduce(0) { $0 &+ Int($1) } }
      _ = try file.tensor(e.name).to(.float32).count
    }
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
