import FuzzSupport
import LoomCage

/// Any bytes as a model's answer through the cage's C analyser (extraction, libclang parse, every rule). A finding
/// or a CageError is fine; a crash, a hang or a sanitizer report is not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let input else { return 0 }
  let text = String(decoding: UnsafeBufferPointer(start: input, count: size), as: UTF8.self)
  _ = try? CCodeValidator().validate(text)
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
