import FuzzSupport
import LoomGenerate

/// char_vocab.json through TextCodec (as a model directory's vocabulary of 65 characters).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  Scratch.write(TextCodec.charVocabFile, UnsafeRawBufferPointer(start: data, count: size))
  do {
    let codec = try TextCodec.load(Scratch.directory, modelVocabSize: 65)
    _ = codec.decode((try? codec.encode("First Citizen:")) ?? [0, 1, 2])
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
