import FuzzSupport
import LoomModels

/// config.json through AutoConfig (every registered family by model_type or architectures),
/// then validate().
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  Scratch.write("config.json", UnsafeRawBufferPointer(start: data, count: size))
  do { try AutoConfig.from(directory: Scratch.directory).validate() } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
