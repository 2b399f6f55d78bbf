import FuzzSupport
import LoomTokenizers

/// vocab.json + merges.txt (the input split at "\n---\n") through the byte-level BPE loader.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let (vocab, merges) = Scratch.split(UnsafeRawBufferPointer(start: data, count: size))
  let v = Scratch.write("vocab.json", vocab)
  let m = Scratch.write("merges.txt", merges)
  do {
    let t = try Tokenizer.byteLevelBPE(vocab: v, merges: m)
    let ids = t.encodeIds("Hello, world! déjà vu 123")
    _ = t.decode(ids, skipSpecialTokens: false)
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
