import FuzzSupport
import LoomTokenizers

/// tokenizer.json through Tokenizer.load, then an encode/decode round.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let path = Scratch.write("tokenizer.json", UnsafeRawBufferPointer(start: data, count: size))
  do {
    let t = try Tokenizer.load(tokenizerJSON: path)
    let ids = t.encodeIds("Hello, world! <|endoftext|> déjà vu 123")
    _ = t.decode(ids, skipSpecialTokens: false)
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
