import FuzzSupport
import LoomGenerate
import LoomModels

/// config.json through AutoConfig (every registered family by model_type or architectures),
/// then validate(); the same bytes as generation_config.json through GenerationConfigFile.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  Scratch.write("config.json", bytes)
  do { try AutoConfig.from(directory: Scratch.directory).validate() } catch { Scratch.check(error) }
  Scratch.write(GenerationConfigFile.fileName, bytes)
  do { _ = try GenerationConfigFile.load(directory: Scratch.directory) } catch {
    Scratch.check(error)
  }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
