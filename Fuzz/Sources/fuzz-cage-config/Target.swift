import FuzzSupport
import LoomCage

/// One input as the cage's JSON config file, read as `loom cage check --config F` reads it (CageConfig.load);
/// a cage that loads then inspects a short text with every validator (as `cage check` reports) and runs both
/// stages with their policies (as `generate --cage` does), so regex, word-list and schema options built from the
/// file are exercised. A CageError with a message is fine; a crash, a hang or a sanitizer report is not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let input else { return 0 }
  let path = Scratch.write("cage.json", UnsafeRawBufferPointer(start: input, count: size))
  let cage: SafetyCage
  do { cage = try CageConfig.load(path: path) } catch {
    Scratch.check(error)
    return 0
  }
  for text in samples {
    _ = cage.inspect(text)
    _ = cage.check(text, stage: .input)
    _ = cage.check(text, stage: .output)
  }
  return 0
}

/// Texts that some validator of every kind flags or passes: JSON, an e-mail, a key-like string, C code.
let samples = [
  #"{"name": "ok", "count": 3, "tags": ["a"]}"#,
  "mail me at jane@example.com; key AKIAIOSFODNN7EXAMPLE\nint main(void) { char b[8]; gets(b); return 0; }",
  "",
]

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
